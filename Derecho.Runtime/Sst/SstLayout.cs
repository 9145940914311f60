namespace Derecho.Sst;

/// <summary>
/// Columns of one SST row, all 64-bit counters or flags. Column i of row r is written only by member r.
/// A pushed range is applied in ascending column order, so the order of columns is part of the protocol:
/// whatever must be visible before a column is read (a trim before the proposal that carries it, an
/// echoed trim before the leader acknowledgement, an endpoint before the join request) sits lower.
/// </summary>
internal sealed class SstLayout
{
    /// <summary>Largest view: removal proposals are a 64-bit mask over ranks.</summary>
    public const int MaxMembers = 64;

    /// <summary>Members one proposal can add.</summary>
    public const int MaxJoinersPerView = 4;

    private readonly int _suspected;
    private readonly int _holdsState;
    private readonly int _proposalJoiner;
    private readonly int _proposalRefused;
    private readonly ShardColumns[] _shards;
    private readonly int _trimStart;

    /// <summary>Builds the layout for a view of <paramref name="members"/> members and one shard spanning them all.</summary>
    public SstLayout(int members) : this(members, [members], 1)
    {
    }

    /// <summary>
    /// Builds the layout for a view of <paramref name="members"/> members and shards of the given sizes (in
    /// global shard order). Every row has every shard's columns; only the shard's members write them.
    /// </summary>
    public SstLayout(int members, IReadOnlyList<int> shardSizes, int layoutShards)
    {
        if (members is < 1 or > MaxMembers) throw new ArgumentOutOfRangeException(nameof(members), $"a view holds 1 to {MaxMembers} members");
        Members = members;
        var next = 0;
        // Hot columns first (received counters and delivered, per shard), so a data-path push is one short range.
        var received = new int[shardSizes.Count];
        var delivered = new int[shardSizes.Count];
        for (var g = 0; g < shardSizes.Count; g++)
        {
            received[g] = next;
            next += shardSizes[g];
            delivered[g] = next++;
        }
        Heartbeat = next++;
        ViewId = next++;
        Status = next++;
        _holdsState = next;
        next += (layoutShards + 63) / 64;
        var persisted = new int[shardSizes.Count];
        for (var g = 0; g < shardSizes.Count; g++) persisted[g] = next++;
        JoinRequestEndpoint = next++;
        JoinRequestId = next++;
        _suspected = next;
        next += members;
        Wedged = next++;
        // Trims sit below the proposal markers that announce them: a pushed range lands in ascending order.
        _trimStart = next;
        var trims = new int[shardSizes.Count];
        for (var g = 0; g < shardSizes.Count; g++)
        {
            trims[g] = next;
            next += shardSizes[g];
        }
        TrimProposal = next++;
        LeaderAck = next++;
        ProposalRemoved = next++;
        _proposalJoiner = next;
        next += 2 * MaxJoinersPerView;
        _proposalRefused = next;
        next += MaxJoinersPerView;
        ProposalId = next++;
        Ack = next++;
        Commit = next++;
        ColumnCount = next;
        RowBytes = (ColumnCount * sizeof(long) + 63) / 64 * 64;
        _shards = new ShardColumns[shardSizes.Count];
        for (var g = 0; g < shardSizes.Count; g++)
            _shards[g] = new ShardColumns(shardSizes[g], received[g], delivered[g], persisted[g], trims[g]);
        TrimWidth = shardSizes.Sum();
    }

    /// <summary>
    /// The word holding bit <c>global % 64</c>: set when the row's owner holds the state of shard
    /// <paramref name="global"/> (of the layout, even in an inadequate view). Read by every member, so a
    /// shard's state can be sent by a holder to whoever lacks it. Use <see cref="SstColumns.HoldsShardState"/>.
    /// </summary>
    public int HoldsState(int global) => _holdsState + global / 64;

    /// <summary>Columns of shard <paramref name="global"/> (global shard number).</summary>
    public ShardColumns Shard(int global) => _shards[global];

    /// <summary>Number of shards with columns.</summary>
    public int ShardCount => _shards.Length;

    /// <summary>Entries of a whole ragged trim: one per sender of every shard, shard after shard.</summary>
    public int TrimWidth { get; }

    /// <summary>Rows in the table.</summary>
    public int Members { get; }

    /// <summary>Columns per row.</summary>
    public int ColumnCount { get; }

    /// <summary>Bytes per row, padded to a cache line so rows never share one.</summary>
    public int RowBytes { get; }

    /// <summary>Shard 0's received counter for <paramref name="sender"/> (views with one shard).</summary>
    public int Received(int sender) => _shards[0].Received(sender);

    /// <summary>Shard 0's delivered counter (views with one shard).</summary>
    public int Delivered => _shards[0].Delivered;

    /// <summary>Liveness counter, bumped periodically.</summary>
    public int Heartbeat { get; }

    /// <summary>The view the row's owner has installed.</summary>
    public int ViewId { get; }

    /// <summary>Flags: see <see cref="MemberStatus"/>.</summary>
    public int Status { get; }

    /// <summary>Endpoint (IPv4 and port, packed) of the process asking this member to be let in (see <see cref="SstColumns.JoinRequest"/>).</summary>
    public int JoinRequestEndpoint { get; }

    /// <summary>The process asking this member to be let in, encoded: use <see cref="SstColumns.JoinRequest"/>.</summary>
    public int JoinRequestId { get; }

    /// <summary>1 when the row's owner suspects the member at <paramref name="rank"/> has failed. Never reset in a view.</summary>
    public int Suspected(int rank) => _suspected + rank;

    /// <summary>1 once the row's owner stopped sending in this view.</summary>
    public int Wedged { get; }

    /// <summary>The proposal whose ragged trim the row holds (0: none); pushed after the trim it marks.</summary>
    public int TrimProposal { get; }

    /// <summary>Entry <paramref name="i"/> of the ragged trim (shard after shard, sender after sender).</summary>
    public int Trim(int i) => _trimStart + i;

    /// <summary>The member the row's owner follows as leader, encoded: use <see cref="SstColumns.FollowedLeader"/>.</summary>
    public int LeaderAck { get; }

    /// <summary>Bit r set: the leader's proposal removes the member at rank r.</summary>
    public int ProposalRemoved { get; }

    /// <summary>The i-th member the leader's proposal adds, encoded: use <see cref="SstColumns.ProposedJoiner"/>.</summary>
    public int ProposalJoinerId(int i) => _proposalJoiner + 2 * i + 1;

    /// <summary>Packed endpoint of the i-th member the leader's proposal adds.</summary>
    public int ProposalJoinerEndpoint(int i) => _proposalJoiner + 2 * i;

    /// <summary>
    /// The i-th process this view change dropped from its proposals: it did not acknowledge in time, so members
    /// stop forwarding its join request. Encoded: use <see cref="SstColumns.ProposedRefusal"/>.
    /// </summary>
    public int ProposalRefusedId(int i) => _proposalRefused + i;

    /// <summary>Id of the leader's current proposal (0: none).</summary>
    public int ProposalId { get; }

    /// <summary>The proposal the row's owner has applied the trim of and prepared the next view for.</summary>
    public int Ack { get; }

    /// <summary>The proposal the leader committed; members install the view it describes.</summary>
    public int Commit { get; }
}

/// <summary>
/// One shard's columns: what each row's owner received from each shard member (by shard-local sender
/// index), delivered and has on disk (<see cref="Persisted"/>, encoded: use <see cref="SstColumns.PersistedVersion"/>),
/// and the shard's part of the ragged trim.
/// </summary>
internal sealed record ShardColumns(int Size, int ReceivedBase, int Delivered, int Persisted, int TrimBase)
{
    /// <summary>How many messages of the shard's <paramref name="sender"/>-th member the row's owner has received.</summary>
    public int Received(int sender) => ReceivedBase + sender;

    /// <summary>Ragged trim: how many messages of the shard's <paramref name="sender"/>-th member survive into the new view.</summary>
    public int Trim(int sender) => TrimBase + sender;
}

/// <summary>Bits of the status column.</summary>
[Flags]
internal enum MemberStatus : long
{
    /// <summary>Running normally.</summary>
    Active = 0,
    /// <summary>Sends no more data; waits for everyone to deliver everything, then closes.</summary>
    Leaving = 1,
}
