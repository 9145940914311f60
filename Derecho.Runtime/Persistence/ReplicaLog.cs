using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Derecho.Diagnostics;
using Derecho.Rpc;

namespace Derecho.Persistence;

/// <summary>
/// The one durable log of a replica: every persistent field of it writes here, and everything one ordered
/// call changed is one record (one version, one CRC), so a crash can cut the log only between deliveries:
/// fields can never come back out of step. One flusher and one fsync per group commit for the whole
/// replica, whatever its number of fields.
/// </summary>
/// <remarks>
/// A record's payload is a list of entries <c>[field key u32][flags u32][length i32]</c> (+ <c>[version i64][ticks i64]</c>
/// when <see cref="OwnVersion"/> is set: an entry whose version differs from the record's, as state transfer
/// writes) and the field's bytes. A field's key is the XxHash32 of its name.
/// </remarks>
internal sealed class ReplicaLog : IDisposable
{
    /// <summary>Entry flag: the entry carries its own version and time.</summary>
    private const uint OwnVersion = 1u << 31;
    private const int EntryHeader = 12;

    private readonly string _directory;
    private readonly PersistentLogOptions _options;
    private readonly Dictionary<uint, ILoggedField> _fields = new();
    private readonly PooledBufferWriter _staged = new();
    private PersistentLog? _log;
    private readonly MetricTags _tags;
    // Where each field's entries are in the log, until the field is created (recovery only).
    private readonly Dictionary<uint, List<long>> _located = new();
    private bool _sealed;
    private long _stagedVersion = -1;
    private long _stagedTicks;
    private int _entryStart = -1;

    public ReplicaLog(string directory, PersistentLogOptions? options = null, MetricTags tags = default)
    {
        _tags = tags;
        _directory = directory;
        _options = options ?? new PersistentLogOptions();
    }

    /// <summary>What a field of the replica does with its entries.</summary>
    internal interface ILoggedField
    {
        string Name { get; }

        /// <summary>Replays one entry read from the log (recovery, or a log tail received from another replica).</summary>
        void Replay(long version, long ticks, uint flags, ReadOnlySpan<byte> payload);

        /// <summary>Oldest version whose record the field still needs to rebuild what it holds (long.MaxValue: none).</summary>
        long NeededFrom { get; }
    }

    public string Directory => _directory;

    /// <summary>Highest version on disk, or -1.</summary>
    public long PersistedVersion => _log?.PersistedVersion ?? -1;

    /// <summary>Highest version written (durable or not), or -1.</summary>
    public long LastVersion => _log?.LastVersion ?? -1;

    /// <summary>Whether replaying the log gives a field its whole history (no segment was trimmed before it was opened).</summary>
    public bool OpenedFromStart => _log?.OpenedFromStart ?? true;

    /// <summary>Agreed time of the newest record (0: none).</summary>
    public long LastTicks => _log?.LastTicks ?? 0;

    /// <summary>Raised on the flusher thread once <see cref="PersistedVersion"/> moved.</summary>
    public event Action? Durable;

    /// <summary>Raised (on the flusher thread) when the log cannot be written any more: see <see cref="PersistentLog"/>.</summary>
    public event Action<Exception>? Broken;

    /// <summary>Raised on the flusher thread with the highest version now on disk.</summary>
    public event Action<long>? Persisted;

    /// <summary>
    /// Adds a field and replays its history into it at once, so a replica's constructor sees its fields
    /// recovered. The first field opens the log: one pass over it notes where each field's entries are
    /// (8 bytes an entry); each field then reads just its own entries back, in order.
    /// </summary>
    public uint Register(ILoggedField field)
    {
        if (_sealed)
            throw new InvalidOperationException($"persistent field '{field.Name}' was created after its replica started; create persistent fields in the replica's constructor");
        var key = KeyOf(field.Name);
        if (_fields.TryGetValue(key, out var other))
            throw new ArgumentException($"persistent fields '{other.Name}' and '{field.Name}' have the same log key {key:X8}; rename one");
        _fields[key] = field;
        if (_log is null) OpenAndLocate();
        if (_located.Remove(key, out var entries)) ReplayLocated(field, entries);
        return key;
    }

    /// <summary>The replica's constructor returned: no field comes later, so unclaimed history is forgotten (it stays on disk).</summary>
    public void Seal()
    {
        _sealed = true;
        _located.Clear();
    }

    private void OpenAndLocate()
    {
        var ordinal = 0;
        _log = new PersistentLog(_directory, _options, onRecord: (_, _, _, payload) => Locate(ordinal++, payload), tags: _tags);
        _log.Durable += () => Durable?.Invoke();
        _log.Broken += e => Broken?.Invoke(e);
        _log.Persisted += v => Persisted?.Invoke(v);
    }

    /// <summary>Notes (record ordinal, offset in its payload) of every entry, per field key.</summary>
    private void Locate(int ordinal, ReadOnlySpan<byte> payload)
    {
        var offset = 0;
        while (offset < payload.Length)
        {
            var entry = ReadEntry(payload[offset..], ordinal, 0, 0);
            if (!_located.TryGetValue(entry.Key, out var list)) _located[entry.Key] = list = new List<long>();
            list.Add((long)ordinal << 32 | (uint)offset);
            offset += entry.Header + entry.Length;
        }
    }

    /// <summary>One entry of a record's payload: its field, flags (without <see cref="OwnVersion"/>), version, time, and where its bytes are.</summary>
    private readonly record struct Entry(uint Key, uint Flags, long Version, long Ticks, int Header, int Length);

    /// <summary>Reads and checks the entry at the start of <paramref name="entry"/> (record <paramref name="record"/> of the log, for errors).</summary>
    private Entry ReadEntry(ReadOnlySpan<byte> entry, long record, long recordVersion, long recordTicks)
    {
        if (entry.Length < EntryHeader) throw new InvalidDataException($"log {_directory}: record {record} has a truncated entry");
        var key = BinaryPrimitives.ReadUInt32LittleEndian(entry);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]);
        var length = BinaryPrimitives.ReadInt32LittleEndian(entry[8..]);
        var header = EntryHeader;
        if ((flags & OwnVersion) != 0)
        {
            if (entry.Length < EntryHeader + 16) throw new InvalidDataException($"log {_directory}: record {record} has a truncated entry");
            recordVersion = BinaryPrimitives.ReadInt64LittleEndian(entry[EntryHeader..]);
            recordTicks = BinaryPrimitives.ReadInt64LittleEndian(entry[(EntryHeader + 8)..]);
            header += 16;
        }
        if (length < 0 || length > entry.Length - header)
            throw new InvalidDataException($"log {_directory}: record {record} has an entry of {length} bytes, {entry.Length - header} left");
        return new Entry(key, flags & ~OwnVersion, recordVersion, recordTicks, header, length);
    }

    /// <summary>Reads one field's entries back from the segment files, oldest first, into the field.</summary>
    private void ReplayLocated(ILoggedField field, List<long> entries)
    {
        FileStream? file = null;
        var segment = -1;
        var buffer = Array.Empty<byte>();
        Span<byte> head = stackalloc byte[EntryHeader + 16];
        try
        {
            foreach (var located in entries)
            {
                var record = _log!.Index[(int)(located >> 32)];
                if (record.Segment != segment)
                {
                    file?.Dispose();
                    file = new FileStream(_log.SegmentPath(record.Segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan);
                    segment = record.Segment;
                }
                file!.Position = record.Offset + LogRecord.HeaderSize + (uint)located;
                file.ReadExactly(head[..EntryHeader]);
                var flags = BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
                var length = BinaryPrimitives.ReadInt32LittleEndian(head[8..]);
                long version = record.Version, ticks = record.Ticks;
                if ((flags & OwnVersion) != 0)
                {
                    file.ReadExactly(head.Slice(EntryHeader, 16));
                    version = BinaryPrimitives.ReadInt64LittleEndian(head[EntryHeader..]);
                    ticks = BinaryPrimitives.ReadInt64LittleEndian(head[(EntryHeader + 8)..]);
                }
                if (buffer.Length < length) buffer = new byte[Math.Max(length, buffer.Length * 2)];
                file.ReadExactly(buffer, 0, length);
                field.Replay(version, ticks, flags & ~OwnVersion, buffer.AsSpan(0, length));
            }
        }
        finally
        {
            file?.Dispose();
        }
    }

    /// <summary>Starts an entry of the current delivery; the field writes its bytes into the returned writer, then calls <see cref="EndEntry"/>.</summary>
    public PooledBufferWriter BeginEntry(uint key, uint flags, long version, DateTime timestamp)
    {
        if (_entryStart >= 0) throw new InvalidOperationException("an entry is already being written");
        // State transfer stages fields of different versions: the record takes the highest. Until the
        // commit every staged entry carries its version; the commit drops those equal to the record's.
        if (version > _stagedVersion)
        {
            _stagedVersion = version;
            _stagedTicks = timestamp.Ticks;
        }
        _entryStart = _staged.WrittenCount;
        var header = _staged.GetSpan(EntryHeader + 16);
        BinaryPrimitives.WriteUInt32LittleEndian(header, key);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], flags);
        BinaryPrimitives.WriteInt64LittleEndian(header[12..], version);
        BinaryPrimitives.WriteInt64LittleEndian(header[20..], timestamp.Ticks);
        _staged.Advance(EntryHeader + 16);
        return _staged;
    }

    /// <summary>Closes the entry begun last.</summary>
    public void EndEntry()
    {
        if (_entryStart < 0) throw new InvalidOperationException("no entry is being written");
        var length = _staged.WrittenCount - _entryStart - EntryHeader - 16;
        BinaryPrimitives.WriteInt32LittleEndian(_staged.WrittenSpanMutable[(_entryStart + 8)..], length);
        _entryStart = -1;
    }

    /// <summary>The field could not write its entry (its value failed to serialize): the entry is dropped, the others stay.</summary>
    public void AbandonEntry()
    {
        if (_entryStart < 0) return;
        _staged.Truncate(_entryStart);
        _entryStart = -1;
        if (_staged.WrittenCount == 0) _stagedVersion = -1;
    }

    /// <summary>The delivery failed (its handler threw): nothing it staged is logged.</summary>
    public void DiscardStaged()
    {
        _staged.Reset();
        _entryStart = -1;
        _stagedVersion = -1;
    }

    /// <summary>
    /// Appends what the delivery staged as one record (nothing if it staged nothing); returns whether it
    /// wrote one. Entries whose version is the record's drop their own version (12 bytes of header, not 28).
    /// </summary>
    public bool Commit()
    {
        if (_staged.WrittenCount == 0) return false;
        if (_log is null) throw new InvalidOperationException($"log {_directory} is not open");
        if (_stagedVersion <= _log.LastVersion)
            throw new InvalidOperationException($"log {_directory}: version {_stagedVersion} does not follow {_log.LastVersion}");
        var record = ArrayPool<byte>.Shared.Rent(_staged.WrittenCount);
        try
        {
            var length = Compact(_staged.WrittenSpan, record, _stagedVersion);
            _log.Append(_stagedVersion, new DateTime(_stagedTicks, DateTimeKind.Utc), record.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(record);
            _staged.Reset();
            _stagedVersion = -1;
        }
        return true;
    }

    /// <summary>Copies staged entries, dropping the version of those that match the record's.</summary>
    private static int Compact(ReadOnlySpan<byte> staged, Span<byte> into, long recordVersion)
    {
        var written = 0;
        while (!staged.IsEmpty)
        {
            var flags = BinaryPrimitives.ReadUInt32LittleEndian(staged[4..]);
            var length = BinaryPrimitives.ReadInt32LittleEndian(staged[8..]);
            var version = BinaryPrimitives.ReadInt64LittleEndian(staged[12..]);
            var own = version != recordVersion;
            var headerBytes = EntryHeader + (own ? 16 : 0);
            staged[..EntryHeader].CopyTo(into[written..]);
            BinaryPrimitives.WriteUInt32LittleEndian(into[(written + 4)..], own ? flags | OwnVersion : flags);
            if (own) staged.Slice(EntryHeader, 16).CopyTo(into[(written + EntryHeader)..]);
            staged.Slice(EntryHeader + 16, length).CopyTo(into[(written + headerBytes)..]);
            written += headerBytes + length;
            staged = staged[(EntryHeader + 16 + length)..];
        }
        return written;
    }

    /// <summary>Replays one record (recovery, or a record of a log tail) into the fields.</summary>
    private void Replay(long version, long ticks, ReadOnlySpan<byte> payload)
    {
        while (!payload.IsEmpty)
        {
            var entry = ReadEntry(payload, version, version, ticks);
            // A field no longer in the type: its history is kept on disk but has nothing to go into.
            if (_fields.TryGetValue(entry.Key, out var field)) field.Replay(entry.Version, entry.Ticks, entry.Flags, payload.Slice(entry.Header, entry.Length));
            payload = payload[(entry.Header + entry.Length)..];
        }
    }

    /// <summary>Appends records received from another replica (a log tail) and replays them into the fields.</summary>
    public void AppendReplicated(long version, long ticks, ReadOnlySpan<byte> payload)
    {
        if (_log is null) throw new InvalidOperationException($"log {_directory} is not open");
        // Every entry's framing is checked before anything changes: a malformed record leaves fields and log as they were.
        for (var offset = 0; offset < payload.Length;)
        {
            var entry = ReadEntry(payload[offset..], version, version, ticks);
            offset += entry.Header + entry.Length;
        }
        Replay(version, ticks, payload);
        _log.Append(version, new DateTime(ticks, DateTimeKind.Utc), payload);
    }

    /// <summary>Records after <paramref name="version"/>, in order, read from disk (a log tail for another replica).</summary>
    public IEnumerable<(long Version, long Ticks, byte[] Payload)> ReadAfter(long version) =>
        _log is null ? [] : _log.ReadAfter(version);

    /// <summary>Whether the log holds a record of exactly <paramref name="version"/> (not trimmed).</summary>
    public bool Contains(long version) => _log is not null && _log.Contains(version);

    /// <summary>Deletes whole segments no field needs any more.</summary>
    public void TrimUnneeded()
    {
        if (_log is null) return;
        var bound = long.MaxValue;
        foreach (var field in _fields.Values) bound = Math.Min(bound, field.NeededFrom);
        if (bound != long.MaxValue) _log.TrimBefore(bound);
    }

    /// <summary>Drops every record after <paramref name="version"/> (the fields drop their versions themselves).</summary>
    public void TruncateAfter(long version) => _log?.TruncateAfter(version);

    /// <summary>Waits until every record so far is on disk.</summary>
    public void Flush() => _log?.Flush();

    public void Dispose()
    {
        _log?.Dispose();
        _staged.Dispose();
    }

    private static uint KeyOf(string name) => XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(name));
}
