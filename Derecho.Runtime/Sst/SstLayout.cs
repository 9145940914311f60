namespace Derecho.Sst;

/// <summary>
/// Columns of one SST row, all 64-bit counters or flags. Column i of row r is written only by member r.
/// A pushed range is applied in ascending column order, so the order of columns is part of the protocol:
/// whatever must be visible before a column is read (a trim before the proposal that carries it, an
/// echoed trim before the leader acknowledgement) sits at a lower index.
/// </summary>
public sealed class SstLayout
{
    /// <summary>Builds the layout for a view of <paramref name="members"/> members.</summary>
    public SstLayout(int members)
    {
        if (members is < 1 or > MaxMembers) throw new ArgumentOutOfRangeException(nameof(members), $"a view holds 1 to {MaxMembers} members");
        Members = members;
        ColumnCount = 3 * members + 11;
        RowBytes = (ColumnCount * sizeof(long) + 63) / 64 * 64;
    }

    /// <summary>Largest view: removal proposals are a 64-bit mask over ranks.</summary>
    public const int MaxMembers = 64;

    /// <summary>Rows in the table.</summary>
    public int Members { get; }

    /// <summary>Columns per row.</summary>
    public int ColumnCount { get; }

    /// <summary>Bytes per row, padded to a cache line so rows never share one.</summary>
    public int RowBytes { get; }

    /// <summary>How many messages of the sender at <paramref name="senderRank"/> this row's owner has received.</summary>
    public int Received(int senderRank) => senderRank;

    /// <summary>How many global sequence numbers (messages and nulls) the row's owner has delivered.</summary>
    public int Delivered => Members;

    /// <summary>Liveness counter, bumped periodically.</summary>
    public int Heartbeat => Members + 1;

    /// <summary>The view the row's owner has installed.</summary>
    public int ViewId => Members + 2;

    /// <summary>Flags: see <see cref="MemberStatus"/>.</summary>
    public int Status => Members + 3;

    /// <summary>1 when the row's owner suspects the member at <paramref name="rank"/> has failed. Never reset in a view.</summary>
    public int Suspected(int rank) => Members + 4 + rank;

    /// <summary>1 once the row's owner stopped sending in this view.</summary>
    public int Wedged => 2 * Members + 4;

    /// <summary>The proposal whose ragged trim the row holds (0: none).</summary>
    public int TrimProposal => 2 * Members + 5;

    /// <summary>Ragged trim: how many messages of the sender at <paramref name="rank"/> survive into the new view.</summary>
    public int Trim(int rank) => 2 * Members + 6 + rank;

    /// <summary>Rank + 1 of the member the row's owner follows as leader.</summary>
    public int LeaderAck => 3 * Members + 6;

    /// <summary>Bit r set: the leader's proposal removes the member at rank r.</summary>
    public int ProposalRemoved => 3 * Members + 7;

    /// <summary>Id of the leader's current proposal (0: none).</summary>
    public int ProposalId => 3 * Members + 8;

    /// <summary>The proposal the row's owner has applied the trim of and prepared the next view for.</summary>
    public int Ack => 3 * Members + 9;

    /// <summary>The proposal the leader committed; members install the view it describes.</summary>
    public int Commit => 3 * Members + 10;
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
