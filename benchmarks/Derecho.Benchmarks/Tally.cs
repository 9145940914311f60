namespace Derecho.Benchmarks;

/// <summary>The replicated object of the view-change benchmark: a running sum.</summary>
[Replicated]
public partial class Tally
{
    private long _sum;

    [Ordered]
    public long Add(long amount) => _sum += amount;
}
