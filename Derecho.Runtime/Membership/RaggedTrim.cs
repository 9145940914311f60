using Derecho.Sst;

namespace Derecho.Membership;

/// <summary>
/// The ragged trim of a wedged view, as one flat row of columns (shard after shard, one per sender of the
/// shard): how many messages of each sender every surviving member delivers before the view ends.
/// </summary>
internal static class RaggedTrim
{
    /// <summary>Per shard, per sender: the fewest messages any live member of the shard received (0 if none is live).</summary>
    public static long[] Compute(ActiveView view, Func<int, bool> live)
    {
        var sst = view.Sst;
        var trim = new long[sst.Layout.TrimWidth];
        for (var g = 0; g < view.ShardCount; g++)
        {
            var columns = sst.Layout.Shard(g);
            var ranks = view.ShardRanks(g);
            for (var j = 0; j < ranks.Length; j++)
            {
                var min = long.MaxValue;
                foreach (var r in ranks)
                    if (live(r)) min = Math.Min(min, sst.Get(r, columns.Received(j)));
                trim[view.TrimOffset(g) + j] = min == long.MaxValue ? 0 : min;
            }
        }
        return trim;
    }

    /// <summary>The trim of the newest proposal a live row echoed (the leader's own row included), or null.</summary>
    public static long[]? LatestEchoed(ActiveView view, Func<int, bool> live)
    {
        var sst = view.Sst;
        var newest = -1;
        long newestProposal = 0;
        for (var r = 0; r < sst.Rows; r++)
        {
            var echoed = sst.Get(r, sst.Layout.TrimProposal);
            if (!live(r) || echoed <= newestProposal) continue;
            newest = r;
            newestProposal = echoed;
        }
        return newest < 0 ? null : Read(sst, newest);
    }

    /// <summary>The trim published in row <paramref name="row"/>.</summary>
    public static long[] Read(SharedStateTable sst, int row)
    {
        var trim = new long[sst.Layout.TrimWidth];
        for (var i = 0; i < trim.Length; i++) trim[i] = sst.Get(row, sst.Layout.Trim(i));
        return trim;
    }
}
