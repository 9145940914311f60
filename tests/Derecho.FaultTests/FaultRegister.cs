using System.IO.Hashing;
using System.Text;
using Derecho.Persistence;
using Derecho.Rpc;

namespace Derecho.FaultTests;

/// <summary>
/// The fault suite's replicated type: a map of string registers, durable (a <see cref="Persistent{T}"/> map, so a
/// total restart must bring back every acknowledged put: puts are answered once on disk at every replica). Puts and
/// reads are both ordered calls, so a read is totally ordered with the writes (a P2P <see cref="Get"/> reads one
/// replica as it is now, which is not linearizable: see README). State transfer to joiners is the log's, plus the
/// mutation check's map (<see cref="IReplicaState"/>).
/// </summary>
[Replicated]
public sealed partial class FaultRegister(IReplicaContext context) : IReplicaState
{
    // Each version is a new map (versions keep references: a map is never changed once set).
    private readonly Persistent<Dictionary<string, string>> _values = context.Persistent("values", new Dictionary<string, string>(StringComparer.Ordinal));
    // Mutation check only: the value each key had before its latest put.
    private readonly Dictionary<string, string> _previous = new(StringComparer.Ordinal);

    public void WriteState(System.Buffers.IBufferWriter<byte> writer) => MemoryPack.MemoryPackSerializer.Serialize(writer, _previous);

    public void ReadState(ReadOnlySpan<byte> state)
    {
        _previous.Clear();
        foreach (var (key, value) in MemoryPack.MemoryPackSerializer.Deserialize<Dictionary<string, string>>(state) ?? []) _previous[key] = value;
    }

    /// <summary>
    /// The deliberate bug of the mutation check, set per member process by FAULTS_MUTATION=stale-read: the ordered
    /// read answers the value before the latest put of the key, as a runtime that delivered a read ahead of the
    /// write ordered before it would. Same at every replica, so replicas still agree and digests still match.
    /// </summary>
    public bool StaleReads { get; init; }

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>; returns the number of keys.</summary>
    [Ordered]
    public int Put(string key, string value)
    {
        var values = _values.Current;
        if (values.TryGetValue(key, out var old)) _previous[key] = old;
        else _previous.Remove(key);
        var next = new Dictionary<string, string>(values, StringComparer.Ordinal) { [key] = value };
        _values.Set(next);
        return next.Count;
    }

    /// <summary>The value of <paramref name="key"/> at this point of the total order, or null.</summary>
    [Ordered]
    public string? Read(string key)
    {
        if (StaleReads) return _previous.TryGetValue(key, out var stale) ? stale : null;
        return _values.Current.TryGetValue(key, out var value) ? value : null;
    }

    /// <summary>The value of <paramref name="key"/> at this replica now (P2P), or null.</summary>
    [P2PCallable]
    public string? Get(string key) => _values.Current.TryGetValue(key, out var value) ? value : null;

    /// <summary>A hash of every key and value in key order: equal at replicas that agree.</summary>
    [P2PCallable]
    public string Digest()
    {
        var values = _values.Current;
        var hash = new XxHash64();
        foreach (var key in values.Keys.Order(StringComparer.Ordinal))
        {
            hash.Append(Encoding.UTF8.GetBytes(key));
            hash.Append(Encoding.UTF8.GetBytes(values[key]));
        }
        return $"{hash.GetCurrentHashAsUInt64():X16}/{values.Count}";
    }
}
