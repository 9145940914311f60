namespace Derecho.Sst;

/// <summary>
/// Columns of one SST row, all 64-bit monotonic counters or flags. Column i of row r is written only by
/// member r. Membership columns (view id, status) sit beside the multicast counters so a view change can
/// later act on them through the same table.
/// </summary>
public sealed class SstLayout
{
    /// <summary>Builds the layout for a view of <paramref name="members"/> members.</summary>
    public SstLayout(int members)
    {
        if (members < 1) throw new ArgumentOutOfRangeException(nameof(members));
        Members = members;
        ColumnCount = members + 4;
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
    public int Delivered => Members;

    /// <summary>Liveness counter, bumped periodically.</summary>
    public int Heartbeat => Members + 1;

    /// <summary>The view the row's owner has installed.</summary>
    public int ViewId => Members + 2;

    /// <summary>Flags: see <see cref="MemberStatus"/>.</summary>
    public int Status => Members + 3;
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
