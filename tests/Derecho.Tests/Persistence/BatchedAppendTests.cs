using Derecho.Persistence;

namespace Derecho.Tests.Persistence;

/// <summary>The one-copy append path: records in shared batch buffers, waiters, records larger than a buffer, crashes mid-batch.</summary>
public sealed class BatchedAppendTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("derecho-batch-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static byte[] Payload(long version, int size)
    {
        var bytes = new byte[size];
        for (var i = 0; i < size; i++) bytes[i] = (byte)(version * 31 + i);
        return bytes;
    }

    private static int SizeOf(long version) => version % 97 == 0 ? (3 << 20) + 17 : (int)(version * 37 % 20_000);

    [Fact]
    public void Waiters_see_every_version_durable_in_order_and_nothing_is_lost_with_records_larger_than_a_buffer()
    {
        const int Count = 2_000;
        var reported = new List<long>();
        using (var log = new PersistentLog(_dir.FullName, new PersistentLogOptions { SegmentBytes = 8 << 20 }))
        {
            log.Persisted += v => { lock (reported) reported.Add(v); };
            var missed = 0;
            var waiters = Enumerable.Range(0, 8).Select(w => new Thread(() =>
            {
                for (long target = w; target <= Count; target += 200)
                {
                    var until = DateTime.UtcNow.AddSeconds(60);
                    while (log.PersistedVersion < target && DateTime.UtcNow < until) Thread.Sleep(1);
                    if (log.PersistedVersion < target) Interlocked.Increment(ref missed);
                }
            })).ToArray();
            foreach (var waiter in waiters) waiter.Start();
            for (long v = 1; v <= Count; v++) log.Append(v, DateTime.UtcNow, Payload(v, SizeOf(v)));
            log.Flush();
            foreach (var waiter in waiters) Assert.True(waiter.Join(TimeSpan.FromSeconds(60)));
            Assert.Equal(0, missed);
            Assert.Equal(Count, log.PersistedVersion);
        }
        lock (reported)
        {
            Assert.Equal(reported.OrderBy(v => v), reported);
            Assert.Equal(Count, reported[^1]);
        }
        var seen = new List<long>();
        using (new PersistentLog(_dir.FullName, new PersistentLogOptions { SegmentBytes = 8 << 20 }, onRecord: (v, _, _, p) =>
        {
            Assert.Equal(Payload(v, SizeOf(v)), p.ToArray());
            seen.Add(v);
        })) { }
        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), seen);
    }

    [Fact]
    public void A_crash_mid_batch_leaves_a_prefix_of_the_records()
    {
        using (var log = new PersistentLog(_dir.FullName))
        {
            for (long v = 1; v <= 300; v++) log.Append(v, DateTime.UtcNow, Payload(v, (int)(v * 53 % 3000)));
            log.Flush();
        }
        var path = Directory.GetFiles(_dir.FullName, "*.log").Single();
        var whole = File.ReadAllBytes(path);
        var random = new Random(7);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            File.WriteAllBytes(path, whole.AsSpan(0, random.Next(whole.Length)).ToArray());
            var seen = new List<long>();
            using (var log = new PersistentLog(_dir.FullName, onRecord: (v, _, _, p) =>
            {
                Assert.Equal(Payload(v, (int)(v * 53 % 3000)), p.ToArray());
                seen.Add(v);
            }))
            {
                // Appending after the cut continues the log right after its last whole record.
                log.Append(1_000, DateTime.UtcNow, Payload(1_000, 10));
                log.Flush();
            }
            Assert.Equal(Enumerable.Range(1, seen.Count).Select(i => (long)i), seen);
            var again = new List<long>();
            using (new PersistentLog(_dir.FullName, onRecord: (v, _, _, _) => again.Add(v))) { }
            Assert.Equal(seen.Append(1_000), again);
        }
    }
}
