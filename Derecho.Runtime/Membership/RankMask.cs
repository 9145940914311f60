namespace Derecho.Membership;

/// <summary>A set of SST ranks as a bit mask (a view holds at most 64 members).</summary>
internal static class RankMask
{
    /// <summary>The ranks whose bits are set, lowest first.</summary>
    public static IEnumerable<int> Ranks(long mask)
    {
        for (var r = 0; r < 64; r++)
            if ((mask & (1L << r)) != 0) yield return r;
    }
}
