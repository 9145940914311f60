using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Derecho.Persistence;
using Derecho.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Persistence;

/// <summary>The log on real files: append, group commit, recovery, torn tails, corruption, trimming, indexes.</summary>
public sealed class PersistentLogTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("derecho-log-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static DateTime At(int second) => new(2026, 1, 1, 0, 0, second, DateTimeKind.Utc);

    private static byte[] Value(int i) => Encoding.UTF8.GetBytes($"value-{i}");

    private List<(long Version, long Ticks, string Value)> Reopen(PersistentLogOptions? options = null)
    {
        var seen = new List<(long, long, string)>();
        using var log = new PersistentLog(_dir.FullName, options, onRecord: (v, t, _, p) => seen.Add((v, t, Encoding.UTF8.GetString(p))));
        return seen;
    }

    private void Write(int count, PersistentLogOptions? options = null, int firstVersion = 1)
    {
        using var log = new PersistentLog(_dir.FullName, options);
        for (var i = firstVersion; i < firstVersion + count; i++) log.Append(i, At(i), Value(i));
        log.Flush();
        Assert.Equal(firstVersion + count - 1, log.PersistedVersion);
    }

    [Fact]
    public void Appended_records_come_back_in_order_after_reopening()
    {
        Write(50);
        var seen = Reopen();
        Assert.Equal(Enumerable.Range(1, 50).Select(i => ((long)i, At(i).Ticks, $"value-{i}")), seen);
    }

    [Fact]
    public void Group_commit_reports_persisted_versions_in_order()
    {
        using var log = new PersistentLog(_dir.FullName);
        var reports = new List<long>();
        log.Persisted += v => { lock (reports) reports.Add(v); };
        for (var i = 1; i <= 2000; i++) log.Append(i, At(i % 60), Value(i));
        log.Flush();
        Assert.Equal(2000, log.PersistedVersion);
        lock (reports)
        {
            Assert.Equal(2000, reports[^1]);
            Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First < p.Second));
            Assert.True(reports.Count < 2000, $"{reports.Count} fsyncs for 2000 appends: commits are batched");
        }
    }

    [SkippableFact]
    public void A_full_disk_stops_the_log_and_nothing_reported_persisted_is_missing()
    {
        Skip.If(Environment.UserName != "root" || !File.Exists("/bin/mount"), "needs root and mount for a tmpfs");
        var mountPoint = Directory.CreateTempSubdirectory("derecho-full-").FullName;
        using (var mount = System.Diagnostics.Process.Start("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mountPoint])) mount.WaitForExit();
        try
        {
            var directory = Path.Combine(mountPoint, "log");
            var payload = new byte[4096];
            long reported = -1;
            IOException? failure = null;
            using (var log = new PersistentLog(directory))
            {
                log.Persisted += v => Volatile.Write(ref reported, v);
                try
                {
                    for (var i = 1; i <= 1000; i++)
                    {
                        BinaryPrimitives.WriteInt32LittleEndian(payload, i);
                        log.Append(i, At(i % 60), payload);
                        if (i % 10 == 0) log.Flush();
                    }
                }
                catch (IOException e) { failure = e; }
                Assert.NotNull(failure); // 4 MB into 512 KB: the log must say it cannot write, not go on
                Assert.Throws<IOException>(() => log.Append(2000, At(0), payload)); // and stay stopped
                Assert.True(log.PersistedVersion < 1000);
            }
            var seen = new List<long>();
            using (new PersistentLog(directory, onRecord: (v, _, _, p) => { Assert.Equal((int)v, BinaryPrimitives.ReadInt32LittleEndian(p)); seen.Add(v); })) { }
            // every version ever reported durable is on disk, in order
            Assert.True(reported > 0);
            Assert.Equal(Enumerable.Range(1, (int)reported).Select(i => (long)i), seen.Take((int)reported));
        }
        finally
        {
            using (var umount = System.Diagnostics.Process.Start("umount", [mountPoint])) umount.WaitForExit();
            Directory.Delete(mountPoint, recursive: true);
        }
    }

    [Fact]
    public async Task Records_of_every_size_interleave_with_waiters_on_other_threads_and_come_back_whole()
    {
        // Sizes from empty to several times the flusher's buffers, in one stream of appends, while other threads wait for
        // durability (Flush) and readers read back what is durable: nothing lost, torn, reordered or reported durable early.
        var sizes = new[] { 0, 1, 31, 100, 4_000, 70_000, 1 << 20, 3 << 20, 5 };
        var options = new PersistentLogOptions { SegmentBytes = 2 << 20 };
        byte[] Payload(int version) => Enumerable.Range(0, sizes[version % sizes.Length]).Select(i => (byte)(i * 7 + version)).ToArray();
        using (var log = new PersistentLog(_dir.FullName, options))
        {
            long reported = -1;
            log.Persisted += v =>
            {
                Assert.True(v > Volatile.Read(ref reported), $"persisted went from {reported} to {v}");
                Volatile.Write(ref reported, v);
            };
            using var stop = new CancellationTokenSource();
            var waiters = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var target = log.LastVersion;
                    log.Flush();
                    Assert.True(log.PersistedVersion >= target);
                }
            })).ToList();
            for (var v = 1; v <= 600; v++) log.Append(v, At(v % 60), Payload(v), flags: (uint)v);
            log.Flush();
            stop.Cancel();
            await Task.WhenAll(waiters).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(600, log.PersistedVersion);
            Assert.Equal(600, Volatile.Read(ref reported));
            Assert.Equal(Enumerable.Range(301, 300).Select(v => Payload(v)), log.ReadAfter(300).Select(r => r.Payload));
        }
        var seen = new List<(long Version, uint Flags, byte[] Payload)>();
        using (new PersistentLog(_dir.FullName, options, onRecord: (v, _, f, p) => seen.Add((v, f, p.ToArray())))) { }
        Assert.Equal(Enumerable.Range(1, 600).Select(v => ((long)v, (uint)v)), seen.Select(r => (r.Version, r.Flags)));
        Assert.All(seen, r => Assert.Equal(Payload((int)r.Version), r.Payload));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_crash_anywhere_in_a_batch_keeps_every_record_before_the_cut(int seed)
    {
        // The process dies while the flusher writes a batch: the file ends at any byte. Reopening keeps exactly the
        // records wholly before that byte, in order, and the log takes appends after them.
        var random = new Random(seed);
        Write(50);
        var file = _dir.GetFiles("*.log").Single();
        var length = file.Length;
        var cut = random.NextInt64(1, length);
        using (var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Write)) stream.SetLength(cut);
        var seen = Reopen();
        var whole = Enumerable.Range(1, 50).TakeWhile(i => RecordEnd(i) <= cut).Count();
        Assert.Equal(Enumerable.Range(1, whole).Select(i => $"value-{i}"), seen.Select(r => r.Value));
        Write(5, firstVersion: whole + 1);
        Assert.Equal(whole + 5, Reopen().Count);

        // Where record i ends in the file: 32-byte headers and "value-i" payloads, back to back.
        static long RecordEnd(int i) => Enumerable.Range(1, i).Sum(n => 32L + Value(n).Length);
    }

    [Fact]
    public void Segments_roll_and_recover_across_files()
    {
        var small = new PersistentLogOptions { SegmentBytes = 400 };
        Write(40, small);
        Assert.True(_dir.GetFiles("*.log").Length > 3);
        Assert.Equal(40, Reopen(small).Count);
    }

    [Fact]
    public void Torn_tail_is_truncated_and_the_log_stays_usable()
    {
        Write(10);
        var file = _dir.GetFiles("*.log").Single();
        var fullLength = file.Length;
        using (var stream = file.Open(FileMode.Open)) stream.SetLength(fullLength - 5); // the crash cut the last record
        var seen = Reopen();
        Assert.Equal(9, seen.Count);
        Assert.True(new FileInfo(file.FullName).Length < fullLength - 5);

        Write(1, firstVersion: 10);
        Assert.Equal(10, Reopen().Count);
    }

    /// <summary>What a crash in the middle of writing an 11th record can leave after the 10 good ones.</summary>
    public static TheoryData<string> TornTails => ["random non-zero bytes", "half header with a wrong length", "bad CRC and a short payload", "bad CRC then garbage"];

    private static byte[] TornTail(string kind)
    {
        var random = new Random(7);
        byte[] Garbage(int count) => Enumerable.Range(0, count).Select(_ => (byte)random.Next(1, 256)).ToArray();
        var header = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0x474C5244); // the record magic
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), 11);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), 0xDEADBEEF); // not the CRC
        switch (kind)
        {
            case "random non-zero bytes":
                return Garbage(77);
            case "half header with a wrong length":
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), int.MaxValue);
                return [.. header.AsSpan(0, 16), .. Garbage(40)];
            case "bad CRC and a short payload":
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), 100);
                return [.. header, .. Garbage(20)];
            default:
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), 8);
                return [.. header, .. Garbage(8), .. Garbage(13)];
        }
    }

    [Theory]
    [MemberData(nameof(TornTails))]
    public void Garbage_tail_of_the_last_segment_is_truncated_with_a_warning(string kind)
    {
        Write(10);
        var file = _dir.GetFiles("*.log").Single();
        var goodLength = file.Length;
        var tail = TornTail(kind);
        using (var stream = file.Open(FileMode.Append)) stream.Write(tail);
        var logs = new CapturingLoggerProvider();
        var seen = new List<long>();
        using (var log = new PersistentLog(_dir.FullName, logger: logs.CreateLogger("log"), onRecord: (v, _, _, _) => seen.Add(v)))
        {
            Assert.Equal(10, log.LastVersion);
        }
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), seen);
        Assert.Equal(goodLength, new FileInfo(file.FullName).Length);
        var warning = Assert.Single(logs.Entries, e => e.Level == LogLevel.Warning).Message;
        Assert.Contains(file.FullName, warning);
        Assert.Contains($"offset {goodLength}", warning);
        Assert.Contains($"{tail.Length} byte(s)", warning);

        Write(1, firstVersion: 11);
        Assert.Equal(11, Reopen().Count);
    }

    [Fact]
    public void Garbage_followed_by_a_valid_record_is_corruption_even_in_the_last_segment()
    {
        Write(10);
        var file = _dir.GetFiles("*.log").Single();
        var bytes = File.ReadAllBytes(file.FullName);
        var recordSize = 32 + Value(1).Length;
        for (var i = 0; i < 20; i++) bytes[4 * recordSize + i] = 0xA5; // the 5th header, records 6-10 intact
        File.WriteAllBytes(file.FullName, bytes);
        var error = Assert.Throws<LogCorruptedException>(() => Reopen());
        Assert.Equal(file.FullName, error.File);
        Assert.Equal(4 * recordSize, error.Offset);
    }

    [Fact]
    public void Garbage_tail_of_an_earlier_segment_is_corruption()
    {
        var small = new PersistentLogOptions { SegmentBytes = 300 };
        Write(20, small);
        var first = _dir.GetFiles("*.log").OrderBy(f => f.Name).First();
        var length = first.Length;
        using (var stream = first.Open(FileMode.Append)) stream.Write(TornTail("random non-zero bytes"));
        var error = Assert.Throws<LogCorruptedException>(() => Reopen(small));
        Assert.Equal(first.FullName, error.File);
        Assert.Equal(length, error.Offset);
    }

    [Fact]
    public void Corrupted_record_in_the_middle_is_reported_with_file_and_offset()
    {
        Write(10);
        var file = _dir.GetFiles("*.log").Single();
        var bytes = File.ReadAllBytes(file.FullName);
        var recordSize = 32 + Value(1).Length;
        bytes[3 * recordSize + 34] ^= 0xFF; // a payload byte of the 4th record
        File.WriteAllBytes(file.FullName, bytes);
        var error = Assert.Throws<LogCorruptedException>(() => Reopen());
        Assert.Equal(file.FullName, error.File);
        Assert.Equal(3 * recordSize, error.Offset);
        Assert.Contains("CRC mismatch", error.Message);
    }

    [Fact]
    public void Truncate_after_cuts_back_to_a_common_prefix()
    {
        Write(20, new PersistentLogOptions { SegmentBytes = 300 });
        using (var log = new PersistentLog(_dir.FullName, new PersistentLogOptions { SegmentBytes = 300 }))
        {
            log.TruncateAfter(12);
            Assert.Equal(12, log.LastVersion);
            log.Append(13, At(13), Encoding.UTF8.GetBytes("other-13"));
            log.Flush();
        }
        var seen = Reopen(new PersistentLogOptions { SegmentBytes = 300 });
        Assert.Equal(13, seen.Count);
        Assert.Equal("other-13", seen[^1].Value);
    }

    [Fact]
    public void Trim_deletes_whole_old_segments_and_index_finds_by_version_and_time()
    {
        var small = new PersistentLogOptions { SegmentBytes = 300 };
        using var log = new PersistentLog(_dir.FullName, small);
        for (var i = 1; i <= 40; i++) log.Append(i * 10, At(i), Value(i));
        log.Flush();
        Assert.Equal(log.Index.AtOrBeforeVersion(155), log.Index.AtOrBeforeVersion(150));
        Assert.Equal(150, log.Index[log.Index.AtOrBeforeVersion(155)].Version);
        Assert.Equal(At(20).Ticks, log.Index[log.Index.AtOrBeforeTime(At(20).Ticks + 1)].Ticks);
        Assert.Equal(-1, log.Index.AtOrBeforeVersion(5));

        var before = _dir.GetFiles("*.log").Length;
        var deleted = log.TrimBefore(250);
        Assert.True(deleted > 0);
        Assert.Equal(before - deleted, _dir.GetFiles("*.log").Length);
        Assert.Equal(-1, log.Index.AtOrBeforeVersion(240));
        Assert.Equal(250, log.Index[log.Index.AtOrBeforeVersion(250)].Version);
    }

    [Fact]
    public void Directory_is_synced_when_the_log_directory_is_made_and_segments_are_created_truncated_and_trimmed()
    {
        var synced = new ConcurrentQueue<string>();
        void OnSynced(string path)
        {
            if (path.StartsWith(_dir.FullName, StringComparison.Ordinal)) synced.Enqueue(path);
        }
        int SyncsOf(string path) => synced.Count(p => p == path);
        DirectorySync.Synced += OnSynced;
        try
        {
            var replica = Path.Combine(_dir.FullName, "replica");
            var logDir = Path.Combine(replica, "log");
            var small = new PersistentLogOptions { SegmentBytes = 300 };
            using (var log = new PersistentLog(logDir, small))
            {
                Assert.Equal(1, SyncsOf(_dir.FullName)); // "replica" made durable in its parent
                Assert.Equal(1, SyncsOf(replica)); // and "log" in "replica"
                for (var i = 1; i <= 40; i++) log.Append(i, At(i), Value(i));
                log.Flush();
                Assert.Equal(Directory.GetFiles(logDir, "*.log").Length, SyncsOf(logDir)); // one per new segment
            }

            using (var log = new PersistentLog(logDir, small))
            {
                var before = SyncsOf(logDir);
                log.TruncateAfter(20);
                Assert.Equal(before + 1, SyncsOf(logDir));
                Assert.True(log.TrimBefore(10) > 0);
                Assert.Equal(before + 2, SyncsOf(logDir));
            }
        }
        finally
        {
            DirectorySync.Synced -= OnSynced;
        }
    }
}
