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
}
