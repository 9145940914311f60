using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Derecho.Samples.KvStore;

namespace Derecho.Benchmarks;

/// <summary>
/// Latency with one call in flight (issue 16): 3 KvStore member processes on loopback and an external client; a
/// durable ordered call (KvStore.Put: every replica answers after its fsync), a non-durable one (Tally.Add, plain
/// state), both relayed by a member as every client's ordered call is, and a P2P call (KvStore.Get at one replica);
/// then a group of 3 member processes of its own, where a member issues ordered calls and P2P calls to another
/// (<see cref="LatencyMember"/>).
/// In the same run the references: a TCP round trip between two processes and a 4 KB write + fsync; and etcd's and
/// DotNext's put latency at one in flight.
/// </summary>
internal static class LatencyBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var json = args.Contains("--json");
        var calls = Option(args, "--calls", 3000);
        var peers = (Option(args, "--peers") ?? "etcd,dotnext").Split(',');
        Console.WriteLine($"latency: one call in flight, {calls} calls each, 3 member processes on 127.0.0.1 ({Environment.ProcessorCount} cores)");
        var series = new List<(string Name, double[] Micros)>();

        series.Add(("tcp_round_trip", await EchoServer.RoundTripsAsync(calls)));
        series.Add(("fsync_4kb", Fsyncs(Math.Min(calls, 1000))));

        await using (var cluster = KvMembers.Start(1, tls: null))
        {
            await using var client = await cluster.ConnectAsync();
            var kv = client.Subgroup<KvStore>();
            var tally = client.Subgroup<Derecho.Samples.KvStore.Tally>();
            var value = new byte[100];
            var n = 0;
            series.Add(("ordered_durable", await Samples(calls, async () =>
            {
                var key = $"key-{n++}";
                if ((await kv.ShardFor(key).Ordered.Put(key, value)).Count != 3) throw new InvalidOperationException("a put not answered by 3 replicas");
            })));
            series.Add(("ordered_volatile", await Samples(calls, async () =>
            {
                if ((await tally.Ordered.Add("n", 1)).Count == 0) throw new InvalidOperationException("an add with no reply");
            })));
            var shard = kv.ShardFor("key-1");
            var member = shard.Members[^1]; // not the contact: a call that crosses to another process
            series.Add(("p2p", await Samples(calls, async () =>
            {
                if (await shard.On(member).Get("key-1") is null) throw new InvalidOperationException("key-1 missing");
            })));
            await cluster.ShutdownAsync();
        }

        series.AddRange(await MemberCallsAsync(calls));

        var value100 = new byte[100];
        if (peers.Contains("etcd") && await EtcdCluster.EnsureInstalledAsync() is null)
        {
            await using var etcd = await EtcdCluster.StartAsync(3);
            using var etcdClient = new dotnet_etcd.EtcdClient(etcd.ClientUrls);
            var text = new string('v', 100);
            var n = 0;
            series.Add(("etcd_put", await Samples(Math.Min(calls, 1000), () => etcdClient.PutAsync($"key-{n++}", text))));
        }
        else Console.WriteLine("etcd: skipped");
        if (peers.Contains("dotnext"))
        {
            await using var dotnext = await DotNextCluster.StartAsync(3);
            var n = 0;
            series.Add(("dotnext_put", await Samples(Math.Min(calls, 1000), () => dotnext.PutAsync($"key-{n++}", value100))));
        }
        else Console.WriteLine("dotnext: skipped");

        Console.WriteLine($"{"what",-24} {"p50 us",10} {"p99 us",10} {"p999 us",10}");
        var rows = new Dictionary<string, object>();
        foreach (var (name, micros) in series)
        {
            var sorted = micros.Order().ToArray();
            if (sorted.Length == 0) continue;
            // Nearest rank; a p999 needs at least 1,000 calls to be more than the maximum, so it is left out below that.
            double At(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
            var p999 = sorted.Length >= 1000 ? At(0.999) : double.NaN;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-24} {At(0.5),10:N1} {At(0.99),10:N1} {(double.IsNaN(p999) ? "-" : p999.ToString("N1", CultureInfo.InvariantCulture)),10}"));
            var row = new Dictionary<string, object> { ["calls"] = sorted.Length, ["p50_us"] = Math.Round(At(0.5), 1), ["p99_us"] = Math.Round(At(0.99), 1) };
            if (!double.IsNaN(p999)) row["p999_us"] = Math.Round(p999, 1);
            rows[name] = row;
        }
        double P50(string name) => (double)((Dictionary<string, object>)rows[name])["p50_us"];
        var rtt = P50("tcp_round_trip");
        var fsync = P50("fsync_4kb");
        // Targets (issue 16): a non-durable ordered call within 3 round trips; a durable one within the round trips it needs plus one fsync.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ordered volatile p50 = {P50("member_ordered_volatile") / rtt:0.0}x the TCP round trip issued by a member, {P50("ordered_volatile") / rtt:0.0}x relayed for a client (target <= 3x); ordered durable p50 = {P50("ordered_durable") / (3 * rtt + fsync):0.00}x (3 round trips + one fsync)"));
        var plots = new List<string>();
        if (Plots.FolderFrom(args) is { } folder)
        {
            plots.Add(Plots.LatencyCdf(folder, "latency-cdf", $"One call in flight, 3 members on loopback ({Environment.ProcessorCount} cores)", series));
            Console.WriteLine($"Plot: {plots[^1]}");
        }
        if (json)
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["latency"] = rows,
                ["ordered_volatile_p50_over_rtt"] = Math.Round(P50("ordered_volatile") / rtt, 2),
                ["member_ordered_volatile_p50_over_rtt"] = Math.Round(P50("member_ordered_volatile") / rtt, 2),
                ["ordered_durable_p50_over_3rtt_plus_fsync"] = Math.Round(P50("ordered_durable") / (3 * rtt + fsync), 2),
                ["plots"] = plots,
            }));
        return 0;
    }

    /// <summary>Latencies of <paramref name="count"/> calls made one after another (after a tenth as many to warm up), in microseconds.</summary>
    internal static async Task<double[]> Samples(int count, Func<Task> call)
    {
        for (var i = 0; i < Math.Max(10, count / 10); i++) await call();
        var samples = new double[count];
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await call();
            samples[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
        }
        return samples;
    }

    /// <summary>Ordered and P2P calls issued by member 0 of a 3-process group of the benchmark's own <see cref="Tally"/>.</summary>
    private static async Task<List<(string Name, double[] Micros)>> MemberCallsAsync(int calls)
    {
        var ports = ChildProcess.FreePorts(3);
        var data = Directory.CreateTempSubdirectory("derecho-latency-");
        var members = new List<Process>();
        var series = new List<(string, double[])>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            for (var id = 0; id < 3; id++)
            {
                var process = ChildProcess.Start(string.Create(CultureInfo.InvariantCulture, $"{id} {string.Join(',', ports)} {calls} {data.FullName}"), "--child-latency");
                process.OutputDataReceived += (_, e) =>
                {
                    if (e.Data?.StartsWith("SAMPLES ", StringComparison.Ordinal) == true)
                    {
                        var fields = e.Data.Split(' ');
                        lock (series) series.Add((fields[1], fields[2].Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()));
                    }
                    else if (e.Data == "DONE") done.TrySetResult();
                };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                members.Add(process);
            }
            await done.Task.WaitAsync(TimeSpan.FromMinutes(3));
            return series;
        }
        finally
        {
            foreach (var member in members)
            {
                if (!member.HasExited) member.Kill(entireProcessTree: true);
                member.Dispose();
            }
            data.Delete(recursive: true);
        }
    }

    /// <summary>4 KB appended and fsynced, one at a time, on the temporary folder's disk (where the members' logs are).</summary>
    private static double[] Fsyncs(int count)
    {
        var path = Path.Combine(Path.GetTempPath(), $"derecho-fsync-{Environment.ProcessId}.bin");
        var block = new byte[4096];
        var samples = new double[count];
        try
        {
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
            for (var i = 0; i < count; i++)
            {
                var started = Stopwatch.GetTimestamp();
                file.Write(block);
                file.Flush(flushToDisk: true);
                samples[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            }
        }
        finally
        {
            File.Delete(path);
        }
        return samples;
    }

    private static int Option(string[] args, string name, int fallback) =>
        Option(args, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    private static string? Option(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }
}
