using System.Buffers.Binary;
using System.Globalization;
using Derecho.Diagnostics;
using Derecho.Internal;
using Microsoft.Extensions.Logging;

namespace Derecho.Persistence;

/// <summary>
/// An append-only log of versions in segment files (<c>00000001.log</c>, …), each record checked by a
/// CRC-32C. The delivery thread appends: it writes the record once, straight into the batch buffer the flusher
/// will hand to the file (no per-record buffer or queue node); a flusher thread takes the filled batches, writes
/// and fsyncs them in one go (group commit) and reports the highest version now durable. Opening a log
/// recovers it: records are verified, a torn tail (bad bytes at the end of the last segment, with no valid
/// record after them) is truncated, and anything else that fails a check is reported with its file and offset.
/// Creating or deleting a segment (and creating the directory) also fsyncs the directory that names it.
/// </summary>
internal sealed class PersistentLog : IDisposable
{
    private readonly string _directory;
    private readonly PersistentLogOptions _options;
    private readonly ILogger? _logger;
    private readonly LogIndex _index = new();
    private const int FirstBatchBytes = 64 << 10;
    private const int MaxBatchBytes = 1 << 20; // a batch grows to this under sustained load
    private const int FreeBatchesKept = 4;
    private readonly object _fillGate = new(); // the appender and the flusher meet here only to hand over batches
    private LogBatch _filling = new(FirstBatchBytes);
    private int _batchBytes = FirstBatchBytes;
    private readonly Queue<LogBatch> _sealed = new();
    private readonly Stack<LogBatch> _free = new();
    private readonly Doorbell _doorbell = new();
    private readonly Thread _flusher;
    private readonly object _flushGate = new();
    private readonly Dictionary<int, FileStream> _open = new();
    private int _appendSegment;
    private long _appendOffset;
    private long _persisted = -1;
    private volatile int _firstLiveSegment; // segments below were trimmed: queued records for them are dropped
    private long _appended = -1;
    private volatile bool _closing;
    private Exception? _flushError;
    private readonly MetricTags _tags;

    /// <summary>
    /// Opens (and recovers) the log in <paramref name="directory"/>; <paramref name="onRecord"/> sees every valid record in order.
    /// Its group commits are measured under <paramref name="tags"/> (none by default).
    /// </summary>
    public PersistentLog(string directory, PersistentLogOptions? options = null, ILogger? logger = null, RecordVisitor? onRecord = null, MetricTags tags = default)
    {
        _tags = tags;
        _directory = directory;
        _options = options ?? new PersistentLogOptions();
        _logger = logger;
        DirectorySync.CreateDirectory(directory);
        Recover(onRecord);
        _flusher = new Thread(FlushLoop) { IsBackground = true, Name = "derecho-log-flush" };
        _flusher.Start();
    }

    /// <summary>Receives a recovered record.</summary>
    public delegate void RecordVisitor(long version, long ticks, uint flags, ReadOnlySpan<byte> payload);

    /// <summary>Raised on the flusher thread with the highest version that is now on disk.</summary>
    public event Action<long>? Persisted;

    /// <summary>Raised on the flusher thread once <see cref="PersistedVersion"/> has moved (for waking the protocol thread).</summary>
    internal event Action? Durable;

    /// <summary>
    /// Raised on the flusher thread, once, when the log cannot be written (a full disk, an I/O error): nothing appended
    /// from now on becomes durable, so whoever waits for it must not wait for the next append to find out.
    /// </summary>
    internal event Action<Exception>? Broken;

    /// <summary>Highest version on disk (fsynced), or -1.</summary>
    public long PersistedVersion => Volatile.Read(ref _persisted);

    /// <summary>Highest version appended, or -1.</summary>
    public long LastVersion => Volatile.Read(ref _appended);

    /// <summary>Agreed time of the newest record, or 0 when the log is empty.</summary>
    public long LastTicks
    {
        get
        {
            var count = _index.Count;
            return count == 0 ? 0 : _index[count - 1].Ticks;
        }
    }

    /// <summary>Records in the log (trimmed ones included).</summary>
    public int Count => _index.Count;

    internal LogIndex Index => _index;

    /// <summary>Appends a record; durable once <see cref="PersistedVersion"/> reaches its version. Single writer.</summary>
    public void Append(long version, DateTime timestamp, ReadOnlySpan<byte> payload, uint flags = 0)
    {
        if (_flushError is { } error) throw new IOException($"log {_directory} can no longer be written: {error.Message}", error);
        if (payload.Length > _options.MaxRecordBytes) throw new ArgumentException($"record of {payload.Length} bytes exceeds MaxRecordBytes {_options.MaxRecordBytes}", nameof(payload));
        var size = LogRecord.HeaderSize + payload.Length;
        if (_appendOffset > 0 && _appendOffset + size > _options.SegmentBytes)
        {
            _appendSegment++;
            _appendOffset = 0;
        }
        _index.Add(new LogIndex.Entry(version, timestamp.Ticks, _appendSegment, _appendOffset, payload.Length));
        bool first;
        lock (_fillGate)
        {
            if (_filling.Remaining < size) NextBatch(size);
            first = _filling.Length == 0;
            LogRecord.Write(_filling.Reserve(_appendSegment, size), payload, version, timestamp.Ticks, flags);
            _filling.Records++;
            _filling.Highest = version;
        }
        _appendOffset += size;
        Volatile.Write(ref _appended, version);
        // The flusher sleeps only after finding nothing to write: only the first record after that needs to wake it.
        if (first) _doorbell.Ring();
    }

    /// <summary>
    /// Seals the batch being filled (it goes to the flusher) and starts another with room for <paramref name="size"/> bytes.
    /// Batches grow while they fill up (sustained load) and are reused; a record larger than a batch gets one of its own.
    /// </summary>
    private void NextBatch(int size)
    {
        if (_filling.Length > 0)
        {
            _sealed.Enqueue(_filling);
            _batchBytes = Math.Min(MaxBatchBytes, _batchBytes * 2);
        }
        else Recycle(_filling);
        if (size > _batchBytes) _filling = new LogBatch(size);
        else
        {
            while (_free.TryPop(out var free))
                if (free.Buffer.Length == _batchBytes)
                {
                    _filling = free;
                    return;
                }
            _filling = new LogBatch(_batchBytes);
        }
    }

    /// <summary>Keeps an emptied batch for reuse, if it is of the current size and few are kept. Under <see cref="_fillGate"/>.</summary>
    private void Recycle(LogBatch batch)
    {
        if (batch.Buffer.Length != _batchBytes || _free.Count >= FreeBatchesKept) return;
        batch.Clear();
        _free.Push(batch);
    }

    /// <summary>Waits until everything appended so far is on disk.</summary>
    public void Flush()
    {
        var target = LastVersion;
        _doorbell.Ring();
        lock (_flushGate)
        {
            while (PersistedVersion < target && _flushError is null) Monitor.Wait(_flushGate, 100);
        }
        if (_flushError is { } error) throw new IOException($"log {_directory} could not be flushed: {error.Message}", error);
    }

    /// <summary>Removes every record after <paramref name="version"/> (restart: cut back to what every replica has). Before any append.</summary>
    public void TruncateAfter(long version)
    {
        Flush(); // queued records reach the file first, so the cut below removes them too
        // Trimmed records are already gone from disk: the cut starts at the oldest one still there.
        var keep = Math.Max(_index.AtOrBeforeVersion(version) + 1, _index.First);
        if (keep >= _index.Count) return;
        var first = _index[keep];
        lock (_flushGate)
        {
            foreach (var (segment, stream) in _open.Where(o => o.Key >= first.Segment).ToList())
            {
                stream.Dispose();
                _open.Remove(segment);
            }
            // Newest first: a crash part-way leaves a shorter log, never one with a hole.
            var later = Segments().Where(s => s.Number > first.Segment).OrderByDescending(s => s.Number).ToList();
            foreach (var segment in later) File.Delete(segment.Path);
            if (later.Count > 0) DirectorySync.Sync(_directory); // or the deleted segments can come back after a power loss
            using (var stream = new FileStream(SegmentPath(first.Segment), FileMode.Open, FileAccess.Write)) { stream.SetLength(first.Offset); stream.Flush(true); }
        }
        _logger?.LogWarning("Log {Directory}: dropped {Count} record(s) after version {Version} to match the other replicas", _directory, _index.Count - keep, version);
        _index.Truncate(keep);
        _appendSegment = first.Segment;
        _appendOffset = first.Offset;
        var last = keep > 0 ? _index[keep - 1].Version : -1;
        Volatile.Write(ref _appended, last);
        Volatile.Write(ref _persisted, last);
    }

    /// <summary>
    /// Every record after <paramref name="version"/>, oldest first, read back from disk (what another replica
    /// lacks). Flushes first, so the records appended so far are all in the files.
    /// </summary>
    public IEnumerable<(long Version, long Ticks, byte[] Payload)> ReadAfter(long version)
    {
        Flush();
        var count = _index.Count;
        var start = Math.Max(_index.AtOrBeforeVersion(version) + 1, _index.First);
        FileStream? file = null;
        var fileSegment = -1;
        try
        {
            for (var i = start; i < count; i++)
            {
                var entry = _index[i];
                if (entry.Segment != fileSegment)
                {
                    file?.Dispose();
                    file = new FileStream(SegmentPath(entry.Segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    fileSegment = entry.Segment;
                }
                var payload = new byte[entry.Length];
                file!.Position = entry.Offset + LogRecord.HeaderSize;
                file.ReadExactly(payload);
                yield return (entry.Version, entry.Ticks, payload);
            }
        }
        finally
        {
            file?.Dispose();
        }
    }

    /// <summary>Whether a record of exactly <paramref name="version"/> is in the log (not trimmed).</summary>
    public bool Contains(long version)
    {
        var at = _index.AtOrBeforeVersion(version);
        return at >= _index.First && at >= 0 && _index[at].Version == version;
    }

    /// <summary>Deletes whole segments whose records are all older than <paramref name="version"/>.</summary>
    public int TrimBefore(long version)
    {
        var deleted = 0;
        var keepFrom = _index.AtOrBeforeVersion(version - 1) + 1; // first index with version >= bound
        if (keepFrom <= _index.First) return 0;
        var segmentOfKeep = keepFrom < _index.Count ? _index[keepFrom].Segment : _appendSegment;
        _firstLiveSegment = Math.Max(_firstLiveSegment, segmentOfKeep); // before deleting: the flusher must not re-create them
        foreach (var segment in Segments().Where(s => s.Number < segmentOfKeep))
        {
            lock (_flushGate)
            {
                if (_open.Remove(segment.Number, out var stream)) stream.Dispose();
            }
            File.Delete(segment.Path);
            deleted++;
        }
        if (deleted > 0) DirectorySync.Sync(_directory);
        // Records in the kept segment stay readable; the index forgets the ones below the bound.
        _index.TrimBefore(keepFrom);
        return deleted;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_closing) return;
        try { Flush(); } catch (IOException) { }
        _closing = true;
        _doorbell.Ring();
        _flusher.Join(TimeSpan.FromSeconds(10));
        lock (_flushGate)
        {
            foreach (var stream in _open.Values) stream.Dispose();
            _open.Clear();
        }
        _doorbell.Dispose();
    }

    private void FlushLoop()
    {
        const int GroupBytes = 4 << 20; // bounded group commits: under sustained load the persisted version still moves
        var batches = new List<LogBatch>();
        var touched = new HashSet<int>();
        while (true)
        {
            var closing = _closing;
            long highest = -1;
            var started = _tags.Member.Key is null ? 0 : DerechoMetrics.StartTiming(DerechoMetrics.FsyncDuration);
            var records = 0;
            lock (_fillGate)
            {
                var bytes = 0;
                while (bytes < GroupBytes && _sealed.TryDequeue(out var full))
                {
                    batches.Add(full);
                    bytes += full.Length;
                }
                if (bytes < GroupBytes && _sealed.Count == 0 && _filling.Length > 0)
                {
                    batches.Add(_filling);
                    _filling = _free.TryPop(out var free) && free.Buffer.Length == _batchBytes ? free : new LogBatch(_batchBytes);
                }
            }
            try
            {
                foreach (var batch in batches)
                {
                    // One write per segment the batch holds records of: the bytes are already laid out as the file wants them.
                    for (var r = 0; r < batch.Runs.Count; r++)
                    {
                        var (segment, start) = batch.Runs[r];
                        if (segment < _firstLiveSegment) continue; // trimmed before it reached the disk: nothing to write
                        var end = r + 1 < batch.Runs.Count ? batch.Runs[r + 1].Start : batch.Length;
                        lock (_flushGate) Stream(segment).Write(batch.Buffer, start, end - start);
                        touched.Add(segment);
                    }
                    highest = batch.Highest;
                    records += batch.Records;
                }
                if (highest >= 0)
                {
                    // Group commit: one fsync per segment written, for every record gathered since the last one.
                    lock (_flushGate)
                        foreach (var segment in touched)
                            if (_open.TryGetValue(segment, out var stream)) stream.Flush(flushToDisk: true);
                    touched.Clear();
                    if (records > 0 && _tags.Member.Key is not null) DerechoMetrics.RecordFsync(_tags, started, records);
                    Persisted?.Invoke(highest); // before Flush() callers wake: they see every report up to their version
                    lock (_flushGate)
                    {
                        Volatile.Write(ref _persisted, highest);
                        Monitor.PulseAll(_flushGate);
                    }
                    Durable?.Invoke(); // after the write: whoever it wakes reads the new PersistedVersion
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _flushError = e;
                _logger?.LogCritical(e, "Log {Directory} cannot be written", _directory);
                lock (_flushGate) Monitor.PulseAll(_flushGate);
                Broken?.Invoke(e);
                return;
            }
            bool idle;
            lock (_fillGate)
            {
                foreach (var batch in batches) Recycle(batch);
                idle = _sealed.Count == 0 && _filling.Length == 0;
            }
            batches.Clear();
            if (closing && idle) return;
            if (highest < 0) _doorbell.Wait(100);
        }
    }

    private FileStream Stream(int segment)
    {
        if (_open.TryGetValue(segment, out var stream)) return stream;
        foreach (var older in _open.Where(o => o.Key < segment).ToList())
        {
            older.Value.Flush(flushToDisk: true);
            older.Value.Dispose();
            _open.Remove(older.Key);
        }
        var path = SegmentPath(segment);
        var created = !File.Exists(path);
        stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _open[segment] = stream;
        if (created) DirectorySync.Sync(_directory); // before its records are reported durable: the file's fsync does not cover its name
        return stream;
    }

    internal string SegmentPath(int number) => Path.Combine(_directory, number.ToString("D8", CultureInfo.InvariantCulture) + ".log");

    private IEnumerable<(int Number, string Path)> Segments() =>
        Directory.GetFiles(_directory, "*.log")
            .Select(p => (Ok: int.TryParse(Path.GetFileNameWithoutExtension(p), NumberStyles.None, CultureInfo.InvariantCulture, out var n), Number: n, Path: p))
            .Where(s => s.Ok).Select(s => (s.Number, s.Path)).OrderBy(s => s.Number);

    /// <summary>Whether the first segment on disk is the log's first (none was trimmed away before this process opened it).</summary>
    public bool OpenedFromStart { get; private set; } = true;

    private void Recover(RecordVisitor? onRecord)
    {
        var segments = Segments().ToList();
        OpenedFromStart = segments.Count == 0 || segments[0].Number == 0;
        for (var i = 0; i < segments.Count; i++)
        {
            var (number, path) = segments[i];
            var bytes = File.ReadAllBytes(path);
            var last = i == segments.Count - 1;
            long offset = 0;
            while (offset < bytes.Length)
            {
                var problem = Check(bytes, offset, out var header);
                if (problem is not null)
                {
                    var next = NextValidRecord(bytes, offset + 1);
                    if (last && next < 0)
                    {
                        TruncateTornTail(path, offset, bytes.Length - offset, problem);
                        break;
                    }
                    throw new LogCorruptedException(path, offset, next < 0 ? problem : $"{problem}; a valid record follows at offset {next}");
                }
                if (_index.Count > 0 && header.Version <= _index[_index.Count - 1].Version)
                    throw new LogCorruptedException(path, offset, $"version {header.Version} does not follow {_index[_index.Count - 1].Version}");
                _index.Add(new LogIndex.Entry(header.Version, header.Ticks, number, offset, header.Length));
                onRecord?.Invoke(header.Version, header.Ticks, header.Flags, bytes.AsSpan((int)offset + LogRecord.HeaderSize, header.Length));
                offset += LogRecord.HeaderSize + header.Length;
            }
            _appendSegment = number;
            _appendOffset = offset;
        }
        var lastVersion = _index.Count > 0 ? _index[_index.Count - 1].Version : -1;
        _appended = _persisted = lastVersion;
    }

    /// <summary>
    /// A crash mid-write leaves anything after the last good record: zeros, a part of a header, a header
    /// whose payload never arrived. If no valid record follows, what is there was never acknowledged.
    /// </summary>
    private void TruncateTornTail(string path, long offset, long dropped, string problem)
    {
        _logger?.LogWarning("Log {File}: torn record at offset {Offset} ({Problem}) and no valid record after it; dropping the last {Dropped} byte(s)",
            path, offset, problem, dropped);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        stream.SetLength(offset);
        stream.Flush(true);
    }

    /// <summary>Offset of the first record at or after <paramref name="from"/> that passes every check, or -1.</summary>
    private long NextValidRecord(byte[] bytes, long from)
    {
        Span<byte> magic = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(magic, LogRecord.Magic);
        for (var at = from; at < bytes.Length;)
        {
            var found = bytes.AsSpan((int)at).IndexOf(magic);
            if (found < 0) return -1;
            at += found;
            if (Check(bytes, at, out _) is null) return at;
            at++;
        }
        return -1;
    }

    /// <summary>Why the record at <paramref name="offset"/> is bad, or null if it is good.</summary>
    private string? Check(byte[] bytes, long offset, out LogRecord.Header header)
    {
        header = default;
        var remaining = bytes.Length - offset;
        if (remaining < LogRecord.HeaderSize) return $"only {remaining} bytes left for a {LogRecord.HeaderSize}-byte header";
        var span = bytes.AsSpan((int)offset);
        if (!LogRecord.TryReadHeader(span, out header)) return "bad record magic or length";
        if (header.Length > _options.MaxRecordBytes) return $"record length {header.Length} exceeds the limit {_options.MaxRecordBytes}";
        var size = LogRecord.HeaderSize + (long)header.Length;
        if (size > remaining) return $"record of {size} bytes but only {remaining} left";
        var crc = LogRecord.Checksum(span, span.Slice(LogRecord.HeaderSize, header.Length));
        return crc == header.Crc ? null : $"CRC mismatch (stored {header.Crc:X8}, computed {crc:X8})";
    }
}
