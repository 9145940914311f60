using Derecho.Transport;

namespace Derecho.Sst;

/// <summary>
/// The shared state table: one row per member in unmanaged memory. A member writes only its own row and
/// pushes the changed bytes to every peer as one one-sided write; peers' rows arrive the same way. Reads
/// are plain volatile loads, so protocol predicates never take a lock.
/// </summary>
internal sealed unsafe class SharedStateTable : IDisposable
{
    private readonly NativeRegion _memory;
    private readonly int[] _memberIds;
    // Who needs which columns: audience 0 is every row; audience g+1 the rows of shard g, for its columns.
    private readonly int[] _columnAudience;
    private int[][] _audienceRows;
    private int[] _dirtyStart = [int.MaxValue];
    private int[] _dirtyEnd = [0];
    private bool _broadcast;
    private ITransport? _registeredWith;
    // Beat runs on the heartbeat thread, Dispose on the protocol thread: this keeps the memory alive under a beat.
    private readonly object _beatGate = new();
    private bool _disposed;

    /// <summary>Creates the table for the given members (row r belongs to <paramref name="memberIds"/>[r]) and shards (default: one of all members).</summary>
    public SharedStateTable(IReadOnlyList<int> memberIds, int myRank, int epoch = 0, IReadOnlyList<int>? shardSizes = null, int layoutShards = 1)
    {
        Layout = shardSizes is null ? new SstLayout(memberIds.Count) : new SstLayout(memberIds.Count, shardSizes, layoutShards);
        _memberIds = memberIds.ToArray();
        MyRank = myRank;
        Epoch = epoch;
        _memory = new NativeRegion((long)Layout.RowBytes * memberIds.Count);
        _columnAudience = new int[Layout.ColumnCount];
        _audienceRows = [Enumerable.Range(0, memberIds.Count).ToArray()];
    }

    /// <summary>
    /// Pushes each shard's columns (received, delivered, persisted, recovered) only to the shard's rows
    /// (<paramref name="shardRows"/>[g]); everything else goes to every row. Until <see cref="BroadcastFromNowOn"/>.
    /// </summary>
    public void SendShardColumnsToShardsOnly(IReadOnlyList<int[]> shardRows)
    {
        if (shardRows.Count != Layout.ShardCount) throw new ArgumentException($"{shardRows.Count} shards for a layout of {Layout.ShardCount}", nameof(shardRows));
        _audienceRows = [_audienceRows[0], .. shardRows];
        _dirtyStart = Enumerable.Repeat(int.MaxValue, _audienceRows.Length).ToArray();
        _dirtyEnd = new int[_audienceRows.Length];
        for (var g = 0; g < shardRows.Count; g++)
        {
            var shard = Layout.Shard(g);
            for (var k = 0; k < shard.Size; k++) _columnAudience[shard.Received(k)] = g + 1;
            _columnAudience[shard.Delivered] = g + 1;
            _columnAudience[shard.Persisted] = g + 1;
        }
    }

    /// <summary>
    /// From now on every change goes to every row, starting with the whole row: a view change needs every
    /// member's final counters of every shard at the leader, and they must land before the wedge flag.
    /// </summary>
    public void BroadcastFromNowOn()
    {
        if (_broadcast) return;
        _broadcast = true;
        _dirtyStart[0] = 0;
        _dirtyEnd[0] = Layout.ColumnCount * sizeof(long);
        for (var a = 1; a < _dirtyStart.Length; a++)
        {
            _dirtyStart[a] = int.MaxValue;
            _dirtyEnd[a] = 0;
        }
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
        var audience = _broadcast ? 0 : _columnAudience[column];
        var start = column * sizeof(long);
        if (start < _dirtyStart[audience]) _dirtyStart[audience] = start;
        if (start + sizeof(long) > _dirtyEnd[audience]) _dirtyEnd[audience] = start + sizeof(long);
    }

    /// <summary>
    /// Bumps our heartbeat and writes just that cell to every peer; safe on any one thread beside the protocol
    /// thread. Only this writes the heartbeat column (never <see cref="Set"/>), so it needs no dirty range; a
    /// row range the protocol thread pushes may carry the cell too, read at push time: a recent value either way.
    /// The write is one 8-byte frame of a column no protocol step orders against, so it cannot reorder anything.
    /// </summary>
    public void Beat(ITransport transport)
    {
        lock (_beatGate)
        {
            if (_disposed) return;
            var cell = Cell(MyRank, Layout.Heartbeat);
            Volatile.Write(ref *cell, *cell + 1);
            var bytes = new ReadOnlySpan<byte>(cell, sizeof(long));
            for (var r = 0; r < Rows; r++)
                if (r != MyRank) transport.Write(_memberIds[r], RegionKind.SstRow, Epoch, Layout.Heartbeat * sizeof(long), bytes);
        }
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
        _registeredWith = transport;
        for (var r = 0; r < Rows; r++)
            if (r != MyRank)
                transport.RegisterInbound(_memberIds[r], RegionKind.SstRow, Epoch, _memory, (long)r * Layout.RowBytes, Layout.RowBytes, wordAtomic: true);
    }

    /// <summary>Sends the changed parts of our row to the peers that read them; returns whether anything changed.</summary>
    public bool PushChanges(ITransport transport)
    {
        var pushed = false;
        for (var a = 0; a < _dirtyStart.Length; a++)
        {
            var start = _dirtyStart[a];
            var end = _dirtyEnd[a];
            if (end <= start) continue;
            var bytes = new ReadOnlySpan<byte>((byte*)Cell(MyRank, 0) + start, end - start);
            foreach (var r in _audienceRows[a])
                if (r != MyRank) transport.Write(_memberIds[r], RegionKind.SstRow, Epoch, start, bytes);
            _dirtyStart[a] = int.MaxValue;
            _dirtyEnd[a] = 0;
            pushed = true;
        }
        if (pushed) Pushes++;
        return pushed;
    }

    /// <summary>Frees the table once the transport can no longer copy a peer's row into it (and no beat is under way).</summary>
    public void Dispose()
    {
        _registeredWith?.UnregisterInbound(_memory);
        lock (_beatGate)
        {
            _disposed = true;
            _memory.Dispose();
        }
    }

    private long* Cell(int row, int column)
    {
        if ((uint)row >= (uint)Rows || (uint)column >= (uint)Layout.ColumnCount) throw new ArgumentOutOfRangeException(nameof(column));
        return (long*)(_memory.Pointer + (long)row * Layout.RowBytes + column * sizeof(long));
    }
}
