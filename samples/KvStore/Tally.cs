using Derecho.Rpc;
using MemoryPack;

namespace Derecho.Samples.KvStore;

/// <summary>
/// Named running totals, replicated on its own subgroup (one shard of up to 3 members). It is laid out over
/// the same members as the key/value shards, so some members hold both: they deliver two independent
/// ordered streams.
/// </summary>
[Replicated]
public sealed partial class Tally : IReplicaState
{
    private readonly Dictionary<string, long> _totals = new(StringComparer.Ordinal);

    /// <summary>Adds <paramref name="amount"/> to the total called <paramref name="name"/>; returns the new total.</summary>
    [Ordered]
    public long Add(string name, long amount)
    {
        _totals.TryGetValue(name, out var total);
        return _totals[name] = total + amount;
    }

    /// <summary>The total called <paramref name="name"/> (0 if never added to).</summary>
    [P2PCallable]
    public long Read(string name) => _totals.TryGetValue(name, out var total) ? total : 0;

    void IReplicaState.WriteState(System.Buffers.IBufferWriter<byte> writer) => MemoryPackSerializer.Serialize(writer, _totals);

    void IReplicaState.ReadState(ReadOnlySpan<byte> state)
    {
        _totals.Clear();
        foreach (var (name, total) in MemoryPackSerializer.Deserialize<Dictionary<string, long>>(state) ?? []) _totals[name] = total;
    }
}
