using System.Collections.Concurrent;
using Derecho.Persistence;

namespace Derecho.Samples.SmartMemory;

/// <summary>How the judging member works: training window, retraining period, tally period.</summary>
public sealed record JudgeOptions
{
    /// <summary>Readings the first model needs, and the most the training window holds.</summary>
    public int TrainingWindow { get; init; } = 4096;

    /// <summary>A new model is trained this long after the last one was published.</summary>
    public TimeSpan RetrainEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Drift: a model that keeps more than this fraction of the readings it judged (over 2,000 of them) is retrained at once.</summary>
    public double DriftKeepFraction { get; init; } = 0.02;

    /// <summary>Counts of judged and dropped readings go to the shard this often (one ordered call for all of them).</summary>
    public TimeSpan TallyEvery { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The reference the smart memory must beat: every reading is kept through an ordered call, no filter.</summary>
    public bool StoreEverything { get; init; }
}

/// <summary>
/// A member's scoring engine for one shard, fed by trigger calls: scores each reading with the shard's newest
/// published model (loaded once per model version), counts normal readings locally and tallies them in one ordered
/// call per period, keeps interesting ones through ordered calls, and retrains from the recent readings it saw.
/// Not replicated state: a member that takes over the shard's readings starts from the replicated model.
/// </summary>
internal sealed class Judge(IReplicaContext context, Func<ModelSnapshot?> published, JudgeOptions options)
{
    private readonly SensorReading[] _window = new SensorReading[options.TrainingWindow];
    private readonly Lock _windowGate = new();
    private readonly ConcurrentQueue<Task> _inFlight = new();
    private long _windowCount;
    private AnomalyModel? _model;
    private long _judged, _dropped, _unjudged;
    private long _judgedByModel, _keptByModel; // since the model in use was loaded: a rising keep rate is drift
    private int _training;
    private long _lastTrainedTicks = DateTime.UtcNow.Ticks;
    private Timer? _tally;

    public async ValueTask ObserveAsync(SensorReading reading)
    {
        if (_tally is null)
        {
            var timer = new Timer(_ => Tally(), null, options.TallyEvery, options.TallyEvery);
            if (Interlocked.CompareExchange(ref _tally, timer, null) is not null) timer.Dispose();
        }
        Remember(reading);
        var model = Current();
        if (model is null && !options.StoreEverything)
        {
            Interlocked.Increment(ref _unjudged);
            MaybeTrain();
            return;
        }
        float score = 0;
        if (model is not null)
        {
            Interlocked.Increment(ref _judged);
            Interlocked.Increment(ref _judgedByModel);
            score = model.Score(reading);
            if (score <= model.Snapshot.KeepThreshold && !options.StoreEverything)
            {
                Interlocked.Increment(ref _dropped);
                MaybeTrain();
                return;
            }
        }
        Interlocked.Increment(ref _keptByModel);
        var kept = new KeptEvent(reading, score, model?.Snapshot.Number ?? 0, model is not null && score > model.Snapshot.AlertThreshold);
        Track(Shard.Ordered.Keep(kept));
        // Back-pressure: this handler waits (asynchronously) while too many keeps are unanswered.
        while (_inFlight.Count > 256 && _inFlight.TryDequeue(out var oldest))
        {
            try { await oldest.ConfigureAwait(false); }
            catch (Exception e) when (e is Derecho.Errors.DerechoException or ArgumentException) { } // an earlier keep's failure, already logged by Track
        }
        MaybeTrain();
    }

    private Derecho.Rpc.ShardHandle<SensorShard> Shard => context.Subgroup<SensorShard>().Shard(context.Shard);

    /// <summary>The newest published model, loaded the first time it is seen.</summary>
    private AnomalyModel? Current()
    {
        var snapshot = published();
        if (snapshot is null) return null;
        var model = _model;
        if (model?.Snapshot.Number == snapshot.Number) return model;
        Interlocked.Exchange(ref _judgedByModel, 0);
        Interlocked.Exchange(ref _keptByModel, 0);
        return _model = AnomalyModel.Load(snapshot);
    }

    private void Remember(in SensorReading reading)
    {
        lock (_windowGate) _window[_windowCount++ % _window.Length] = reading;
    }

    private void MaybeTrain()
    {
        var now = DateTime.UtcNow.Ticks;
        var first = published() is null;
        var judged = Volatile.Read(ref _judgedByModel);
        var drifting = judged > 2000 && Volatile.Read(ref _keptByModel) > options.DriftKeepFraction * judged;
        // This member trains only on readings it saw itself: never before its window is full (a member taking over starts empty).
        var due = Volatile.Read(ref _windowCount) >= _window.Length
                  && (first || drifting || now - Volatile.Read(ref _lastTrainedTicks) >= options.RetrainEvery.Ticks);
        if (!due) return;
        if (Interlocked.Exchange(ref _training, 1) == 1) return;
        SensorReading[] recent;
        lock (_windowGate) recent = (SensorReading[])_window.Clone();
        _ = Task.Run(async () =>
        {
            try
            {
                var snapshot = AnomalyModel.Train(recent);
                await Shard.Ordered.PublishModel(snapshot).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"member {context.MyId}: retraining shard {context.Shard} failed: {e.Message}");
            }
            finally
            {
                Volatile.Write(ref _lastTrainedTicks, DateTime.UtcNow.Ticks);
                Volatile.Write(ref _training, 0);
            }
        });
    }

    private void Tally()
    {
        var judged = Interlocked.Exchange(ref _judged, 0);
        var dropped = Interlocked.Exchange(ref _dropped, 0);
        var unjudged = Interlocked.Exchange(ref _unjudged, 0);
        if (judged == 0 && dropped == 0 && unjudged == 0) return;
        Task tally;
        try { tally = Shard.Ordered.Tally(judged, dropped, unjudged); }
        catch (Exception e) { tally = Task.FromException(e); }
        // A tally that failed (a view change, this member leaving) is added back for the next one, not lost.
        _ = tally.ContinueWith(_ =>
        {
            Interlocked.Add(ref _judged, judged);
            Interlocked.Add(ref _dropped, dropped);
            Interlocked.Add(ref _unjudged, unjudged);
        }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private void Track(Task call)
    {
        _inFlight.Enqueue(call);
        _ = call.ContinueWith(t => Console.Error.WriteLine($"member {context.MyId}: an ordered call into shard {context.Shard} failed: {t.Exception?.InnerException?.Message}"),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        while (_inFlight.TryPeek(out var oldest) && oldest.IsCompleted) _inFlight.TryDequeue(out _);
    }
}
