using Derecho.Sst;

namespace Derecho.Membership;

/// <summary>
/// The whole group's shutdown barrier: each member flags its row as leaving and stops sending; the barrier
/// is passed once every row is flagged and every member of each of our shards received and delivered the
/// same messages from every sender (nothing sent by anyone is left undelivered anywhere).
/// </summary>
internal sealed class LeaveBarrier
{
    private readonly TaskCompletionSource _complete = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _requested;

    /// <summary>Whether this member asked to leave with everyone (its connections closing are then no failure).</summary>
    public bool Requested => _requested;

    /// <summary>Completes when every member passed the barrier.</summary>
    public Task Complete => _complete.Task;

    public void Request() => _requested = true;

    /// <summary>Protocol step: flag our row; when every row is flagged and all counters agree, the barrier is passed.</summary>
    public bool Step(ActiveView view)
    {
        if (!_requested || _complete.Task.IsCompleted) return false;
        var sst = view.Sst;
        var columns = sst.Layout;
        if (sst.Get(sst.MyRank, columns.Status) != (long)MemberStatus.Leaving)
        {
            sst.Set(columns.Status, (long)MemberStatus.Leaving);
            return true;
        }
        for (var r = 0; r < sst.Rows; r++)
            if (sst.Get(r, columns.Status) != (long)MemberStatus.Leaving) return false;
        // Every shard of ours: all its members received the same number from each sender and delivered all of it
        // (other shards' counters are not pushed to us; their members check them).
        foreach (var active in view.MyShards)
        {
            var shard = columns.Shard(active.Global);
            var ranks = active.Ranks;
            var sent = sst.Get(ranks[0], shard.Received(0));
            foreach (var r in ranks)
            {
                for (var j = 0; j < ranks.Length; j++)
                    if (sst.Get(r, shard.Received(j)) != sent) return false;
                if (sst.Get(r, shard.Delivered) != sent * ranks.Length) return false;
            }
        }
        _complete.TrySetResult();
        return false;
    }
}
