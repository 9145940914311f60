namespace Derecho.Sst;

/// <summary>
/// Columns of one SST row, all 64-bit counters or flags. Column i of row r is written only by member r.
/// A pushed range is applied in ascending column order, so the order of columns is part of the protocol:
/// whatever must be visible before a column is read (a trim before the proposal that carries it, an
/// echoed trim before the leader acknowledgement, an endpoint before the join request) sits lower.
/// </summary>
public sealed class SstLayout
{
    /// <summary>Largest view: removal proposals are a 64-bit mask over ranks.</summary>
    public const int MaxMembers = 64;

    /// <summary>Members one proposal can add.</summary>
    public const int MaxJoinersPerView = 4;

    private readonly int _suspected;
    private readonly int _trim;
    private readonly int _proposalJoiner;

    /// <summary>Builds the layout for a view of <paramref name="members"/> members.</summary>
    public SstLayout(int members)
    {
        if (members is < 1 or > MaxMembers) throw new ArgumentOutOfRangeException(nameof(members), $"a view holds 1 to {MaxMembers} members");
        Members = members;
        var next = members; // Received(0..n-1) come first
        Delivered = next++;
        Heartbeat = next++;
        ViewId = next++;
        Status = next++;
        Persisted = next++;
        Recovered = next++;
        JoinRequestEndpoint = next++;
        JoinRequestId = next++;
        _suspected = next;
        next += members;
        Wedged = next++;
        TrimProposal = next++;
        _trim = next;
        next += members;
        LeaderAck = next++;
        ProposalRemoved = next++;
        _proposalJoiner = next;
        next += 2 * MaxJoinersPerView;
        ProposalId = next++;
        Ack = next++;
        Commit = next++;
        ColumnCount = next;
        RowBytes = (ColumnCount * sizeof(long) + 63) / 64 * 64;
    }

    /// <summary>Rows in the table.</summary>
    public int Members { get; }

    /// <summary>Columns per row.</summary>
    public int ColumnCount { get; }

    /// <summary>Bytes per row, padded to a cache line so rows never share one.</summary>
    public int RowBytes { get; }

    /// <summary>How many messages of the sender at <paramref name="senderRank"/> this row's owner has received.</summary>
    public int Received(int senderRank) => senderRank;

    /// <summary>How many global sequence numbers (messages and nulls) the row's owner has delivered.</summary>
    public int Delivered { get; }

    /// <summary>Liveness counter, bumped periodically.</summary>
    public int Heartbeat { get; }

    /// <summary>The view the row's owner has installed.</summary>
    public int ViewId { get; }

    /// <summary>Flags: see <see cref="MemberStatus"/>.</summary>
    public int Status { get; }

    /// <summary>Highest version the row's owner has on disk for every persistent field (-1: none yet).</summary>
    public int Persisted { get; }

    /// <summary>Highest version the row's owner recovered from its logs at start, plus 2 (0: not yet published).</summary>
    public int Recovered { get; }

    /// <summary>Endpoint (IPv4 and port, packed) of the process asking this member to be let in.</summary>
    public int JoinRequestEndpoint { get; }

    /// <summary>Id + 1 of the process asking this member to be let in (0: none).</summary>
    public int JoinRequestId { get; }

    /// <summary>1 when the row's owner suspects the member at <paramref name="rank"/> has failed. Never reset in a view.</summary>
    public int Suspected(int rank) => _suspected + rank;

    /// <summary>1 once the row's owner stopped sending in this view.</summary>
    public int Wedged { get; }

    /// <summary>The proposal whose ragged trim the row holds (0: none).</summary>
    public int TrimProposal { get; }

    /// <summary>Ragged trim: how many messages of the sender at <paramref name="rank"/> survive into the new view.</summary>
    public int Trim(int rank) => _trim + rank;

    /// <summary>Rank + 1 of the member the row's owner follows as leader.</summary>
    public int LeaderAck { get; }

    /// <summary>Bit r set: the leader's proposal removes the member at rank r.</summary>
    public int ProposalRemoved { get; }

    /// <summary>Id + 1 of the i-th member the leader's proposal adds (0: none).</summary>
    public int ProposalJoinerId(int i) => _proposalJoiner + 2 * i + 1;

    /// <summary>Packed endpoint of the i-th member the leader's proposal adds.</summary>
    public int ProposalJoinerEndpoint(int i) => _proposalJoiner + 2 * i;

    /// <summary>Id of the leader's current proposal (0: none).</summary>
    public int ProposalId { get; }

    /// <summary>The proposal the row's owner has applied the trim of and prepared the next view for.</summary>
    public int Ack { get; }

    /// <summary>The proposal the leader committed; members install the view it describes.</summary>
    public int Commit { get; }
}

/// <summary>Bits of the status column.</summary>
[Flags]
public enum MemberStatus : long
{
    /// <summary>Running normally.</summary>
    Active = 0,
    /// <summary>Sends no more data; waits for everyone to deliver everything, then closes.</summary>
    Leaving = 1,
}
