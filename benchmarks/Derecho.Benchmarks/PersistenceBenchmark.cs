using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Derecho.Persistence;
using Derecho.Replication;
using Derecho.Rpc;

namespace Derecho.Benchmarks;

/// <summary>
/// Log appends per second with group-commit fsync (every append durable at the end), beside the raw
/// sequential write + fsync rate of the same disk; and reads by version and by time over a field holding
/// one million versions, on one thread.
/// </summary>
internal static class PersistenceBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var json = args.Contains("--json");
        var root = Directory.CreateTempSubdirectory("derecho-persistence-bench-");
        try
        {
            Console.WriteLine($"Persistence on {root.FullName} ({Environment.ProcessorCount} cores)");
            // The reference is the better of two raw patterns, so the ratio cannot flatter the log.
            var rawOneSync = RawDiskMegabytesPerSecond(root.FullName, syncEveryMegabytes: 256);
            var rawBatched = RawDiskMegabytesPerSecond(root.FullName, syncEveryMegabytes: 4);
            var raw = Math.Max(rawOneSync, rawBatched);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"raw sequential write + fsync, 256 MB in 1 MB writes: {rawOneSync:N0} MB/s with one fsync, {rawBatched:N0} MB/s with an fsync every 4 MB; reference {raw:N0} MB/s"));
            var results = new List<Dictionary<string, object>>();
            // Warm-up: the append path runs its optimized code (tiered compilation) before the clock starts, as in a member that has run a while.
            foreach (var (size, count) in new[] { (100, 300_000), (10_000, 30_000) }) Appends(Path.Combine(root.FullName, $"warm-up-{size}"), size, count, quiet: true);
            foreach (var (size, count) in new[] { (100, 300_000), (10_000, 30_000) })
            {
                var (perSecond, megabytes, fsyncs) = Appends(Path.Combine(root.FullName, $"log-{size}"), size, count);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"appends of {size,6} B: {perSecond,10:N0}/s {megabytes,8:N1} MB/s ({100 * megabytes / raw:F0}% of raw), {count} records in {fsyncs} group commits"));
                results.Add(new() { ["value_bytes"] = size, ["appends_per_s"] = Math.Round(perSecond), ["append_mb_per_s"] = Math.Round(megabytes, 1), ["raw_disk_mb_per_s"] = Math.Round(raw, 1) });
            }
            var (byVersion, byTime) = Reads(1_000_000);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reads over 1,000,000 versions, one thread: by version {byVersion:N0}/s, by time {byTime:N0}/s"));
            if (json)
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["results"] = results,
                    ["raw_disk_mb_per_s"] = Math.Round(raw, 1),
                    ["reads_by_version_per_s"] = Math.Round(byVersion),
                    ["reads_by_time_per_s"] = Math.Round(byTime),
                }));
            await Task.CompletedTask;
            return 0;
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static double RawDiskMegabytesPerSecond(string directory, int syncEveryMegabytes)
    {
        var path = Path.Combine(directory, "raw.bin");
        var chunk = new byte[1 << 20];
        Random.Shared.NextBytes(chunk);
        var clock = Stopwatch.StartNew();
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            for (var i = 1; i <= 256; i++)
            {
                stream.Write(chunk);
                if (i % syncEveryMegabytes == 0) stream.Flush(flushToDisk: true);
            }
        }
        var seconds = clock.Elapsed.TotalSeconds;
        File.Delete(path);
        return 256 * (1 << 20) / seconds / 1e6;
    }

    private static (double PerSecond, double MegabytesPerSecond, int Fsyncs) Appends(string directory, int size, int count, bool quiet = false)
    {
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        var fsyncs = 0;
        var clock = Stopwatch.StartNew();
        using (var log = new PersistentLog(directory))
        {
            log.Persisted += _ => Interlocked.Increment(ref fsyncs);
            var now = DateTime.UtcNow;
            for (var i = 0; i < count; i++) log.Append(i, now, payload);
            if (!quiet) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  ({size} B: the appends returned after {clock.Elapsed.TotalMilliseconds:N0} ms, the rest is the last group commit)"));
            log.Flush(); // every append is on disk when the clock stops
        }
        var seconds = clock.Elapsed.TotalSeconds;
        Directory.Delete(directory, recursive: true);
        return (count / seconds, (double)count * (size + 32) / seconds / 1e6, fsyncs);
    }

    private static (double ByVersion, double ByTime) Reads(int versions)
    {
        var context = new ReplicaContext(0, [0], "bench", _ => throw new InvalidOperationException(), _ => { });
        var field = context.Volatile("x", 0L);
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var v = 0; v < versions; v++)
        {
            OrderedContext.Enter(new DeliveryInfo(0, v, v, start.AddTicks(v * 10L)));
            field.Set(v);
            OrderedContext.Exit();
        }
        var random = new Random(1);
        const int reads = 5_000_000;
        long sum = 0;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < reads; i++) sum += field.ValueAt(random.Next(versions));
        var byVersion = reads / clock.Elapsed.TotalSeconds;
        clock.Restart();
        for (var i = 0; i < reads; i++) sum += field.ValueAtTime(start.AddTicks(random.Next(versions) * 10L + 5));
        var byTime = reads / clock.Elapsed.TotalSeconds;
        GC.KeepAlive(sum);
        return (byVersion, byTime);
    }
}
