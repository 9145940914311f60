using Derecho.Persistence;
using Derecho.Rpc;

namespace Derecho.Tests.Support;

/// <summary>A replicated count and sum in versioned fields, for temporal queries: each write returns the agreed time it was stamped with.</summary>
[Replicated]
public partial class Meter
{
    private readonly Volatile<long> _count;
    private readonly Volatile<long> _sum;

    public Meter(IReplicaContext context)
    {
        _count = context.Volatile<long>("count");
        _sum = context.Volatile<long>("sum");
    }

    /// <summary>Adds a reading; returns [agreed ticks, count, sum] after it.</summary>
    [Ordered]
    public long[] Add(long reading) => [OrderedContext.Timestamp.Ticks, _count.Update(c => c + 1), _sum.Update(s => s + reading)];

    /// <summary>[count, sum, version of the count]: now, or at the time of a temporal call.</summary>
    [P2PCallable]
    public long[] Snapshot() => [_count.Current, _sum.Current, _count.CurrentVersion];

    /// <summary>The time the handler reads at, in ticks (0: now).</summary>
    [P2PCallable]
    public long ReadTicks() => TemporalContext.ReadTime?.Ticks ?? 0;
}
