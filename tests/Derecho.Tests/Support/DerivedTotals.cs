using Derecho.Persistence;
using Derecho.Rpc;

namespace Derecho.Tests.Support;

/// <summary>
/// A replicated type that derives plain state from its persistent field in its constructor (how many amounts
/// were added and their sum) and transfers nothing itself: the field's log brings every amount, to a member that
/// recovers, catches up at a restart, or is new to the shard.
/// </summary>
[Replicated]
public sealed partial class DerivedTotals : IReplicaState
{
    private readonly Persistent<long> _amounts;
    private long _count;
    private long _sum;

    public DerivedTotals(IReplicaContext context)
    {
        _amounts = context.Persistent<long>("amounts");
        foreach (var amount in _amounts.Range(long.MinValue, long.MaxValue)) Count(amount.Value);
    }

    [Ordered]
    public long Add(long amount)
    {
        _amounts.Set(amount);
        Count(amount);
        return _sum;
    }

    /// <summary>[count, sum] as derived here.</summary>
    [P2PCallable]
    public long[] Totals() => [_count, _sum];

    private void Count(long amount)
    {
        _count++;
        _sum += amount;
    }

    // Everything is in the persistent field: the log tail that comes first brings it.
    void IReplicaState.WriteState(System.Buffers.IBufferWriter<byte> writer) { }

    void IReplicaState.ReadState(ReadOnlySpan<byte> state) { }
}
