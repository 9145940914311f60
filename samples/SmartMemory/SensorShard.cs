using System.IO.Hashing;
using Derecho.Persistence;
using Derecho.Rpc;

namespace Derecho.Samples.SmartMemory;

/// <summary>
/// One shard of the smart memory. Readings arrive as trigger calls at one member of the shard, which judges each
/// with the shard's current model (<see cref="Judge"/>, off the protocol thread): normal ones are only counted,
/// interesting ones are kept through an ordered call, so every replica stores them with the number of the model
/// that judged them, and urgent ones raise an alert notification as part of that delivery. The models themselves
/// are replicated knowledge: retrained online by the judging member and published by an ordered call, so every
/// replica holds every model version and "which model was in force at t" has one answer. Every field is versioned,
/// so a P2P call <c>.AtTime(t)</c> reads the shard as it was at t on any replica.
/// </summary>
[Replicated]
public sealed partial class SensorShard : IReplicaState
{
    public const string AlertTopic = "alert";

    private readonly IReplicaContext _context;
    private readonly Persistent<ShardCounts> _counts;
    private readonly Persistent<KeptEvent?> _kept;     // one version per kept event
    private readonly Persistent<ModelSnapshot?> _model; // one version per published model
    private readonly Judge _judge;

    public SensorShard(IReplicaContext context, JudgeOptions? options = null)
    {
        _context = context;
        _counts = context.Persistent<ShardCounts>("counts");
        _kept = context.Persistent<KeptEvent?>("kept");
        _model = context.Persistent<ModelSnapshot?>("model");
        _judge = new Judge(context, () => _model.Current, options ?? new JudgeOptions());
    }

    /// <summary>A sensor reading to judge: runs on the member it was sent to, never ordered, never stored unless interesting.</summary>
    [Trigger]
    public ValueTask Observe(SensorReading reading) => _judge.ObserveAsync(reading);

    /// <summary>Stores an interesting event at every replica; an urgent one notifies the subscribers of <see cref="AlertTopic"/>.</summary>
    [Ordered]
    public void Keep(KeptEvent kept)
    {
        _kept.Set(kept);
        var counts = _counts.Current;
        _counts.Set(counts with { Kept = counts.Kept + 1, Alerts = counts.Alerts + (kept.Alert ? 1 : 0) });
        if (kept.Alert)
        {
            var r = kept.Reading;
            OrderedContext.Notify(AlertTopic, new Alert(_context.Shard, r.Sensor, r.Sequence, r.SentTicks, kept.Score, kept.ModelNumber));
        }
    }

    /// <summary>Adds what the judging member counted since its last tally (one ordered call for many dropped events).</summary>
    [Ordered]
    public void Tally(long judged, long dropped, long unjudged)
    {
        var counts = _counts.Current;
        _counts.Set(counts with { Judged = counts.Judged + judged, Dropped = counts.Dropped + dropped, Unjudged = counts.Unjudged + unjudged });
    }

    /// <summary>Publishes a retrained model; the shard numbers it (the same number at every replica) and returns the number.</summary>
    [Ordered]
    public int PublishModel(ModelSnapshot model)
    {
        var number = (_model.Current?.Number ?? 0) + 1;
        _model.Set(model with { Number = number });
        return number;
    }

    /// <summary>
    /// The shard now, or at t when called <c>.AtTime(t)</c>: its counts, the model in force, and the events kept in the
    /// <paramref name="windowTicks"/> before. The same answer from every replica that holds the history.
    /// </summary>
    [P2PCallable]
    public ShardSummary Summary(long windowTicks)
    {
        var at = TemporalContext.ReadTime?.Ticks ?? long.MaxValue;
        int events = 0, alerts = 0;
        var digest = new XxHash64();
        Span<byte> key = stackalloc byte[8];
        foreach (var version in _kept.Range(long.MinValue, long.MaxValue))
        {
            var ticks = version.Timestamp.Ticks;
            if (ticks > at || version.Value is not { } kept || (at != long.MaxValue && ticks <= at - windowTicks)) continue;
            events++;
            if (kept.Alert) alerts++;
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(key, kept.Reading.Key);
            digest.Append(key);
        }
        return new ShardSummary(_context.Shard, TemporalContext.ReadTime?.Ticks ?? 0, _counts.Current, _model.Current?.Number ?? 0, events, alerts, digest.GetCurrentHashAsUInt64());
    }

    /// <summary>The keys (<see cref="SensorReading.Key"/>) of every alert the shard raised, oldest first.</summary>
    [P2PCallable]
    public List<long> AlertKeys() => _kept.Range(long.MinValue, long.MaxValue)
        .Where(v => v.Value is { Alert: true }).Select(v => v.Value!.Reading.Key).ToList();

    /// <summary>The ground truth of what the shard kept: [kept, kept that were injected faults].</summary>
    [P2PCallable]
    public long[] KeptTruth()
    {
        long kept = 0, faults = 0;
        foreach (var version in _kept.Range(long.MinValue, long.MaxValue))
        {
            if (version.Value is not { } e) continue;
            kept++;
            if (e.Reading.InjectedFault) faults++;
        }
        return [kept, faults];
    }

    // Every replicated field is versioned (the runtime transfers those); the judge is this member's scoring engine, not state.
    void IReplicaState.WriteState(System.Buffers.IBufferWriter<byte> writer) { }

    void IReplicaState.ReadState(ReadOnlySpan<byte> state) { }
}
