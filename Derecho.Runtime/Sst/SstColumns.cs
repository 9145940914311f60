namespace Derecho.Sst;

/// <summary>
/// Typed reads and writes of the columns that store a value encoded, so that a fresh row (all zeros) reads as
/// "nothing yet". Each encoding is written down here once; call sites never add or subtract it. Extension
/// methods, not a partial class: they only read and write cells, so <see cref="SharedStateTable"/> keeps its state in one place.
/// </summary>
internal static class SstColumns
{
    // Persisted (one per shard): the highest version of the shard that the row's owner has on disk, stored
    // + 1 so a fresh row reads -1 ("nothing persisted yet", also the value before version 0 is fsynced).

    /// <summary>Highest version of shard <paramref name="shard"/> (global number) on the disk of the member at <paramref name="rank"/>; -1: none.</summary>
    public static long PersistedVersion(this SharedStateTable sst, int rank, int shard) => sst.Get(rank, sst.Layout.Shard(shard).Persisted) - 1;

    /// <summary>Highest version of shard <paramref name="shard"/> on the disk of every member at <paramref name="ranks"/>; -1: none.</summary>
    public static long PersistedEverywhere(this SharedStateTable sst, int shard, ReadOnlySpan<int> ranks) => sst.Min(sst.Layout.Shard(shard).Persisted, ranks) - 1;

    /// <summary>Announces that our disk holds shard <paramref name="shard"/> up to <paramref name="version"/>.</summary>
    public static void PublishPersistedVersion(this SharedStateTable sst, int shard, long version) => sst.Set(sst.Layout.Shard(shard).Persisted, version + 1);

    // JoinRequestId, JoinRequestEndpoint: a process that asked the row's owner to be let in; the id stored
    // + 1 (0: no request). The endpoint sits in the lower column, so it has landed when the id is read.

    /// <summary>The process the member at <paramref name="rank"/> asks to let in, or null.</summary>
    public static (int Id, long Endpoint)? JoinRequest(this SharedStateTable sst, int rank)
    {
        var id = sst.Get(rank, sst.Layout.JoinRequestId) - 1;
        return id < 0 ? null : ((int)id, sst.Get(rank, sst.Layout.JoinRequestEndpoint));
    }

    /// <summary>Asks, in our row, to let in process <paramref name="id"/> listening at <paramref name="endpoint"/> (packed).</summary>
    public static void PostJoinRequest(this SharedStateTable sst, int id, long endpoint)
    {
        sst.Set(sst.Layout.JoinRequestEndpoint, endpoint);
        sst.Set(sst.Layout.JoinRequestId, id + 1);
    }

    /// <summary>Drops our row's join request.</summary>
    public static void WithdrawJoinRequest(this SharedStateTable sst) => sst.Set(sst.Layout.JoinRequestId, 0);

    // LeaderAck: the rank of the member the row's owner follows as leader, stored + 1 (0: none yet).

    /// <summary>Rank of the leader the member at <paramref name="rank"/> follows; -1: none yet.</summary>
    public static int FollowedLeader(this SharedStateTable sst, int rank) => (int)(sst.Get(rank, sst.Layout.LeaderAck) - 1);

    /// <summary>Announces that we follow the member at <paramref name="leaderRank"/> as leader.</summary>
    public static void FollowLeader(this SharedStateTable sst, int leaderRank) => sst.Set(sst.Layout.LeaderAck, leaderRank + 1);

    // ProposalJoinerId(i), ProposalJoinerEndpoint(i): the i-th process the leader's proposal adds, the id stored
    // + 1 (0: slot empty). ProposalRefusedId(i): the i-th process the view change dropped, id + 1 (0: none).

    /// <summary>The <paramref name="i"/>-th process the proposal in the row at <paramref name="rank"/> adds, or null.</summary>
    public static (int Id, long Endpoint)? ProposedJoiner(this SharedStateTable sst, int rank, int i)
    {
        var id = sst.Get(rank, sst.Layout.ProposalJoinerId(i)) - 1;
        return id < 0 ? null : ((int)id, sst.Get(rank, sst.Layout.ProposalJoinerEndpoint(i)));
    }

    /// <summary>Every process the proposal in the row at <paramref name="row"/> adds, in slot order.</summary>
    public static List<(int Id, long Endpoint)> ProposedJoiners(this SharedStateTable sst, int row)
    {
        var joiners = new List<(int Id, long Endpoint)>();
        for (var i = 0; i < SstLayout.MaxJoinersPerView; i++)
            if (sst.ProposedJoiner(row, i) is { } joiner) joiners.Add(joiner);
        return joiners;
    }

    /// <summary>Fills slot <paramref name="i"/> of our proposal's joiners (null: empty).</summary>
    public static void ProposeJoiner(this SharedStateTable sst, int i, (int Id, long Endpoint)? joiner)
    {
        sst.Set(sst.Layout.ProposalJoinerEndpoint(i), joiner?.Endpoint ?? 0);
        sst.Set(sst.Layout.ProposalJoinerId(i), joiner is { } j ? j.Id + 1 : 0);
    }

    /// <summary>The <paramref name="i"/>-th process the view change of the row at <paramref name="rank"/> dropped, or null.</summary>
    public static int? ProposedRefusal(this SharedStateTable sst, int rank, int i)
    {
        var id = sst.Get(rank, sst.Layout.ProposalRefusedId(i)) - 1;
        return id < 0 ? null : (int)id;
    }

    /// <summary>Fills slot <paramref name="i"/> of our proposal's dropped processes (null: empty).</summary>
    public static void ProposeRefusal(this SharedStateTable sst, int i, int? id) => sst.Set(sst.Layout.ProposalRefusedId(i), id is { } refused ? refused + 1 : 0);

    // HoldsState: one bit per shard of the layout (global number), 64 to a column: set when the row's owner
    // holds the shard's state.

    /// <summary>Whether the member at <paramref name="rank"/> holds the state of shard <paramref name="shard"/> (global number).</summary>
    public static bool HoldsShardState(this SharedStateTable sst, int rank, int shard) => (sst.Get(rank, sst.Layout.HoldsState(shard)) & (1L << (shard % 64))) != 0;

    /// <summary>Sets or clears our bit for shard <paramref name="shard"/>; writes (and so pushes) only a change.</summary>
    public static void PublishHoldsShardState(this SharedStateTable sst, int shard, bool holds)
    {
        var column = sst.Layout.HoldsState(shard);
        var bit = 1L << (shard % 64);
        var word = sst.Get(sst.MyRank, column);
        var updated = holds ? word | bit : word & ~bit;
        if (updated != word) sst.Set(column, updated);
    }
}
