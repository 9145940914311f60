using Derecho.Rpc;

namespace Derecho.Benchmarks;

/// <summary>The replicated object of the view-change benchmark: a running sum ([MemoryPackable] for state transfer).</summary>
[Replicated]
[MemoryPack.MemoryPackable]
public partial class Tally
{
    [MemoryPack.MemoryPackInclude] private long _sum;

    [Ordered]
    public long Add(long amount) => _sum += amount;

    /// <summary>The sum at this member (the latency benchmark's member-to-member P2P call).</summary>
    [P2PCallable]
    public long Sum() => _sum;
}
