using Derecho.Transport;

namespace Derecho.Sst;

/// <summary>
/// The shared state table: one row per member in unmanaged memory. A member writes only its own row and
/// pushes the changed bytes to every peer as one one-sided write; peers' rows arrive the same way. Reads
/// are plain volatile loads, so protocol predicates never take a lock.
/// </summary>
public sealed unsafe class SharedStateTable : IDisposable
{
    private readonly NativeRegion _memory;
    private readonly int[] _memberIds;
    private int _dirtyStart = int.MaxValue;
    private int _dirtyEnd;

    /// <summary>Creates the table for the given members (row r belongs to <paramref name="memberIds"/>[r]) and shards (default: one of all members).</summary>
    public SharedStateTable(IReadOnlyList<int> memberIds, int myRank, int epoch = 0, IReadOnlyList<int>? shardSizes = null)
    {
        Layout = shardSizes is null ? new SstLayout(memberIds.Count) : new SstLayout(memberIds.Count, shardSizes);
        _memberIds = memberIds.ToArray();
        MyRank = myRank;
        Epoch = epoch;
        _memory = new NativeRegion((long)Layout.RowBytes * memberIds.Count);
    }

    /// <summary>The column layout.</summary>
    public SstLayout Layout { get; }

    /// <summary>The view this table belongs to; writes are tagged with it.</summary>
    public int Epoch { get; }

    /// <summary>Member id owning each row.</summary>
    public IReadOnlyList<int> MemberIds => _memberIds;

    /// <summary>Index of this member's row.</summary>
    public int MyRank { get; }

    /// <summary>Rows in the table.</summary>
    public int Rows => _memberIds.Length;

    /// <summary>Number of times a changed row was pushed (receiver-side batching keeps this far below message counts).</summary>
    public long Pushes { get; private set; }

    /// <summary>Reads a cell of any row.</summary>
    public long Get(int row, int column) => Volatile.Read(ref *Cell(row, column));

    /// <summary>Writes a cell of this member's own row and marks it for the next push.</summary>
    public void Set(int column, long value)
    {
        Volatile.Write(ref *Cell(MyRank, column), value);
        var start = column * sizeof(long);
        if (start < _dirtyStart) _dirtyStart = start;
        if (start + sizeof(long) > _dirtyEnd) _dirtyEnd = start + sizeof(long);
    }

    /// <summary>Minimum of a column over the given rows: "has every member of the shard reached k?"</summary>
    public long Min(int column, ReadOnlySpan<int> rows)
    {
        var min = long.MaxValue;
        foreach (var r in rows) min = Math.Min(min, Get(r, column));
        return min;
    }

    /// <summary>Minimum of a column over all rows: "has every member reached k?"</summary>
    public long Min(int column)
    {
        var min = long.MaxValue;
        for (var r = 0; r < Rows; r++) min = Math.Min(min, Get(r, column));
        return min;
    }

    /// <summary>Lets every peer write its own row of our copy, and nothing else.</summary>
    public void RegisterWith(ITransport transport)
    {
        for (var r = 0; r < Rows; r++)
            if (r != MyRank)
                transport.RegisterInbound(_memberIds[r], RegionKind.SstRow, Epoch, _memory, (long)r * Layout.RowBytes, Layout.RowBytes, wordAtomic: true);
    }

    /// <summary>Sends the changed part of our row to every peer; returns whether anything changed.</summary>
    public bool PushChanges(ITransport transport)
    {
        if (_dirtyEnd <= _dirtyStart) return false;
        var bytes = new ReadOnlySpan<byte>((byte*)Cell(MyRank, 0) + _dirtyStart, _dirtyEnd - _dirtyStart);
        for (var r = 0; r < Rows; r++)
            if (r != MyRank) transport.Write(_memberIds[r], RegionKind.SstRow, Epoch, _dirtyStart, bytes);
        _dirtyStart = int.MaxValue;
        _dirtyEnd = 0;
        Pushes++;
        return true;
    }

    /// <inheritdoc />
    public void Dispose() => _memory.Dispose();

    private long* Cell(int row, int column)
    {
        if ((uint)row >= (uint)Rows || (uint)column >= (uint)Layout.ColumnCount) throw new ArgumentOutOfRangeException(nameof(column));
        return (long*)(_memory.Pointer + (long)row * Layout.RowBytes + column * sizeof(long));
    }
}
