using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Derecho.Client;
using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Samples.KvStore;
using dotnet_etcd;

namespace Derecho.Benchmarks;

/// <summary>
/// External clients against a sharded key/value store: the KvStore sample's members (1 shard x 3, then
/// 2 shards x 3, each member its own process) and, in the same run, a 3-member etcd cluster on loopback via
/// its gRPC API (dotnet-etcd), with the same number of requests in flight and 100-byte values. Both sides are
/// durable: etcd answers a put after its leader and a majority fsynced the entry; our put completes when
/// every replica of the shard answered, and a replica answers once the put's version is on its disk.
/// </summary>
internal static class KvBenchmark
{
    private const int ValueBytes = 100;

    public static async Task<int> RunAsync(string[] args)
    {
        var json = args.Contains("--json");
        var seconds = Option(args, "--seconds", 5);
        var inFlight = Option(args, "--in-flight", 256);
        var layouts = (OptionText(args, "--shards") ?? "1,2").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var duration = TimeSpan.FromSeconds(seconds);
        Console.WriteLine($"kv: {ValueBytes} B values, {inFlight} requests in flight, {seconds} s per phase, {Environment.ProcessorCount} cores");

        // --tls: each layout runs again with mutual TLS on every connection (members and the client).
        var tlsFolder = args.Contains("--tls") ? BenchmarkCertificates.Create(layouts.Max() * 3) : null;
        var derecho = new List<Dictionary<string, object>>();
        var derechoTls = new List<Dictionary<string, object>>();
        // --sessions-cost: each layout runs again with client sessions off (ExactlyOnce = false), the ratio in the JSON.
        var sessionsCost = args.Contains("--sessions-cost");
        // --no-sessions: the client runs without sessions (ExactlyOnce = false) throughout, e.g. to profile the difference.
        var sessions = !args.Contains("--no-sessions");
        foreach (var shards in layouts)
        {
            foreach (var tls in tlsFolder is null ? new string?[] { null } : [null, tlsFolder])
            {
                var result = await RunDerechoAsync(shards, inFlight, duration, tls, sessions);
                var row = new Dictionary<string, object>
                {
                    ["shards"] = shards,
                    ["puts_per_s"] = Math.Round(result.Puts.PerSecond),
                    ["gets_per_s"] = Math.Round(result.Gets.PerSecond),
                    ["put_p50_us"] = Math.Round(result.Puts.P50),
                    ["put_p99_us"] = Math.Round(result.Puts.P99),
                };
                if (result.Gc is { } gc)
                {
                    row["member_allocated_bytes_per_put"] = Math.Round(gc.Members.Allocated / gc.Puts);
                    row["member_gc_pause_ms"] = Math.Round(gc.Members.PauseMilliseconds, 1);
                    row["member_gc_collections"] = new[] { gc.Members.Gen0, gc.Members.Gen1, gc.Members.Gen2 };
                    row["client_allocated_bytes_per_put"] = Math.Round(gc.Client.Allocated / gc.Puts);
                    row["client_gc_pause_ms"] = Math.Round(gc.Client.PauseMilliseconds, 1);
                }
                var cost = "";
                if (tls is not null)
                {
                    row["puts_of_plaintext"] = Math.Round(result.Puts.PerSecond / (double)derecho[^1]["puts_per_s"], 3);
                    cost = $" ({100 * (double)row["puts_of_plaintext"]:F0}% of plaintext puts)";
                }
                if (sessionsCost && tls is null)
                {
                    // Alternated (on, off, on, off) so that neither side gets the cold start or a quiet spell alone.
                    var off1 = await RunDerechoAsync(shards, inFlight, duration, tls, exactlyOnce: false);
                    var on2 = await RunDerechoAsync(shards, inFlight, duration, tls);
                    var off2 = await RunDerechoAsync(shards, inFlight, duration, tls, exactlyOnce: false);
                    double[] on = [result.Puts.PerSecond, on2.Puts.PerSecond], off = [off1.Puts.PerSecond, off2.Puts.PerSecond];
                    row["puts_per_s_sessions_on_runs"] = on.Select(v => Math.Round(v)).ToArray();
                    row["puts_per_s_sessions_off_runs"] = off.Select(v => Math.Round(v)).ToArray();
                    row["put_p50_us_sessions_off"] = Math.Round((off1.Puts.P50 + off2.Puts.P50) / 2);
                    row["puts_sessions_on_of_off"] = Math.Round(on.Sum() / off.Sum(), 3);
                    cost = $" (sessions on {string.Join(", ", on.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))}/s, off {string.Join(", ", off.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))}/s, alternated; on/off {row["puts_sessions_on_of_off"]})";
                }
                Console.WriteLine($"derecho {shards} shard(s) x 3{(tls is null ? "" : " TLS")}: puts {result.Puts.PerSecond:N0}/s (p50 {result.Puts.P50:N0} us, p99 {result.Puts.P99:N0} us), gets {result.Gets.PerSecond:N0}/s{cost}");
                (tls is null ? derecho : derechoTls).Add(row);
            }
        }

        // --peers etcd,dotnext (the default): which peer clusters run the same workload after ours.
        var peers = (OptionText(args, "--peers") ?? "etcd,dotnext").Split(',');
        Dictionary<string, object>? etcd = null;
        if (!peers.Contains("etcd"))
            Console.WriteLine("etcd: skipped (--peers)");
        else if (await EtcdCluster.EnsureInstalledAsync() is { } missing)
            Console.WriteLine($"etcd: skipped ({missing})");
        else
            etcd = PeerRow("etcd 3 members", "etcd", await RunEtcdAsync(inFlight, duration), derecho[0], layouts[0]);
        Dictionary<string, object>? dotnext = null;
        if (!peers.Contains("dotnext"))
            Console.WriteLine("dotnext: skipped (--peers)");
        else
            dotnext = PeerRow("dotnext raft 3 members", "dotnext", await RunDotNextAsync(inFlight, duration), derecho[0], layouts[0]);
        Console.WriteLine("durability: etcd fsyncs each commit batch on a majority before answering; DotNext's leader answers after a majority appended the entry and the leader's WAL flushed it (followers flush when they learn the commit); derecho puts are answered by every replica after its fsync (ReplyWhenPersisted)");
        var plots = new List<string>();
        if (Plots.FolderFrom(args) is { } folder)
        {
            foreach (var (metric, title) in new[] { ("puts_per_s", "durable puts/s"), ("gets_per_s", "gets/s") })
            {
                var bars = derecho.Select(r => ($"derecho {r["shards"]}x3", (double)r[metric])).ToList();
                if (etcd is not null) bars.Add(("etcd, 3 members", (double)etcd[metric]));
                if (dotnext is not null) bars.Add(("DotNext Raft, 3 members", (double)dotnext[metric]));
                plots.Add(Plots.Bars(folder, $"kv-{metric.Replace("_per_s", "", StringComparison.Ordinal)}", $"Key/value {title}, {ValueBytes} B values, {inFlight} in flight, loopback ({Environment.ProcessorCount} cores)",
                    metric.Replace("_", " ", StringComparison.Ordinal).Replace(" per s", "/s", StringComparison.Ordinal), bars));
                Console.WriteLine($"Plot: {plots[^1]}");
            }
        }
        if (json) Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?> { ["derecho"] = derecho, ["derecho_tls"] = derechoTls, ["etcd"] = etcd, ["dotnext"] = dotnext, ["durable"] = true, ["plots"] = plots }));
        return 0;
    }

    private static async Task<(Phase Puts, Phase Gets, PutGc? Gc)> RunDerechoAsync(int shards, int inFlight, TimeSpan duration, string? tls, bool exactlyOnce = true)
    {
        await using var cluster = KvMembers.Start(shards, tls);
        var processes = cluster.Processes;
        var gcLines = cluster.GcLines;
        {
            await using var client = await cluster.ConnectAsync(exactlyOnce);
            var kv = client.Subgroup<KvStore>();
            var value = new byte[ValueBytes];
            Random.Shared.NextBytes(value);
            var written = 0;
            async Task Put(int _)
            {
                var key = $"key-{Interlocked.Increment(ref written)}";
                var replies = await kv.ShardFor(key).Ordered.Put(key, value);
                if (replies.Count != 3) throw new InvalidOperationException($"put answered by {replies.Count} replicas, not 3");
            }
            await Measure(Put, inFlight, TimeSpan.FromSeconds(1)); // warm-up
            // Garbage collection during the puts, in the members (asked over standard input) and in this process (the client).
            async Task<GcStats?> MembersGc()
            {
                var counts = gcLines.Select(q => q.Count).ToArray();
                foreach (var process in processes) await process.StandardInput.WriteLineAsync("gc");
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (gcLines.Where((q, i) => q.Count <= counts[i]).Any() && DateTime.UtcNow < deadline) await Task.Delay(20);
                return gcLines.Any(q => q.IsEmpty) ? null : gcLines.Select(q => q.Last()).Aggregate((a, b) => a + b);
            }
            var membersGcBefore = await MembersGc();
            var clientGcBefore = GcStats.Now();
            var cpuBefore = CpuSeconds(processes);
            var written0 = written;
            var puts = await Measure(Put, inFlight, duration);
            var cpu = CpuSeconds(processes).Zip(cpuBefore, (after, before) => after - before).ToArray();
            var clientGc = GcStats.Now() - clientGcBefore;
            var putGc = await MembersGc() is { } membersGcAfter && membersGcBefore is { } before0
                ? new PutGc(membersGcAfter - before0, clientGc, Math.Max(1, written - written0))
                : (PutGc?)null;
            if (putGc is { } g)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  gc during puts: members {g.Members.Allocated / g.Puts:N0} B allocated per put, paused {g.Members.PauseMilliseconds:0.#} ms in all ({g.Members.Gen0} gen0, {g.Members.Gen1} gen1, {g.Members.Gen2} gen2 collections); " +
                    $"client {g.Client.Allocated / g.Puts:N0} B per put, paused {g.Client.PauseMilliseconds:0.#} ms ({g.Client.Gen0}/{g.Client.Gen1}/{g.Client.Gen2})"));
            Console.WriteLine($"  cpu during puts ({duration.TotalSeconds * Environment.ProcessorCount:0} core-seconds available): " +
                              $"members {string.Join(" + ", cpu.SkipLast(1).Select(c => c.ToString("0.0", CultureInfo.InvariantCulture)))} s, client {cpu[^1]:0.0} s");
            var keys = written;
            var gets = await Measure(async n =>
            {
                var key = $"key-{1 + n % keys}";
                var shard = kv.ShardFor(key);
                var members = shard.Members;
                if (await shard.On(members[n % members.Count]).Get(key) is null) throw new InvalidOperationException($"{key} missing");
            }, inFlight, duration);

            await cluster.ShutdownAsync();
            return (puts, gets, putGc);
        }
    }

    /// <summary>A peer's figures, printed with our first layout's ratio to them, as the JSON row.</summary>
    private static Dictionary<string, object> PeerRow(string title, string name, (Phase Puts, Phase Gets) result, Dictionary<string, object> ours, int ourShards)
    {
        Console.WriteLine($"{title}: puts {result.Puts.PerSecond:N0}/s (p50 {result.Puts.P50:N0} us, p99 {result.Puts.P99:N0} us), gets {result.Gets.PerSecond:N0}/s");
        var row = new Dictionary<string, object>
        {
            ["puts_per_s"] = Math.Round(result.Puts.PerSecond),
            ["gets_per_s"] = Math.Round(result.Gets.PerSecond),
            ["put_p50_us"] = Math.Round(result.Puts.P50),
            ["put_p99_us"] = Math.Round(result.Puts.P99),
        };
        Console.WriteLine($"derecho ({ourShards} shard(s)) / {name} puts: {(double)ours["puts_per_s"] / (double)row["puts_per_s"]:0.0}x");
        return row;
    }

    private static async Task<(Phase Puts, Phase Gets)> RunEtcdAsync(int inFlight, TimeSpan duration)
    {
        await using var cluster = await EtcdCluster.StartAsync(3);
        using var client = new EtcdClient(cluster.ClientUrls);
        var value = new string('v', ValueBytes);
        var written = 0;
        async Task Put(int _) => await client.PutAsync($"key-{Interlocked.Increment(ref written)}", value);
        await Measure(Put, inFlight, TimeSpan.FromSeconds(1));
        var puts = await Measure(Put, inFlight, duration);
        var keys = written;
        var gets = await Measure(async n =>
        {
            if ((await client.GetValAsync($"key-{1 + n % keys}")).Length != ValueBytes) throw new InvalidOperationException("etcd get returned a wrong value");
        }, inFlight, duration);
        return (puts, gets);
    }

    private static async Task<(Phase Puts, Phase Gets)> RunDotNextAsync(int inFlight, TimeSpan duration)
    {
        await using var cluster = await DotNextCluster.StartAsync(3);
        var value = new byte[ValueBytes];
        Random.Shared.NextBytes(value);
        var written = 0;
        Task Put(int _) => cluster.PutAsync($"key-{Interlocked.Increment(ref written)}", value);
        await Measure(Put, inFlight, TimeSpan.FromSeconds(1));
        var puts = await Measure(Put, inFlight, duration);
        var keys = written;
        var gets = await Measure(async n =>
        {
            if (await cluster.GetLengthAsync($"key-{1 + n % keys}") != ValueBytes) throw new InvalidOperationException("DotNext get returned a wrong value");
        }, inFlight, duration);
        return (puts, gets);
    }

    /// <summary>Runs <paramref name="inFlight"/> loops of <paramref name="operation"/> for <paramref name="duration"/>: rate and latency percentiles.</summary>
    private static async Task<Phase> Measure(Func<int, Task> operation, int inFlight, TimeSpan duration)
    {
        var next = 0;
        var clock = Stopwatch.StartNew();
        var loops = Enumerable.Range(0, inFlight).Select(async _ =>
        {
            var latencies = new List<double>(4096);
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                await operation(Interlocked.Increment(ref next)).ConfigureAwait(false);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
            return latencies;
        }).ToList();
        var all = (await Task.WhenAll(loops)).SelectMany(l => l).Order().ToArray();
        var elapsed = clock.Elapsed.TotalSeconds;
        return new Phase(all.Length / elapsed, all.Length == 0 ? 0 : all[all.Length / 2], all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))]);
    }

    /// <summary>CPU seconds used so far by each process, then by this one (the client).</summary>
    private static double[] CpuSeconds(List<Process> processes) =>
        processes.Select(p => { p.Refresh(); return p.TotalProcessorTime.TotalSeconds; })
            .Append(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds).ToArray();

    private static int Option(string[] args, string name, int fallback) =>
        OptionText(args, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    private static string? OptionText(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    private readonly record struct Phase(double PerSecond, double P50, double P99);

    /// <summary>Garbage collection during a puts phase: summed over the members, and in the client, for <see cref="Puts"/> puts.</summary>
    private readonly record struct PutGc(GcStats Members, GcStats Client, double Puts);
}

/// <summary>The repository's samples, run as member processes.</summary>
internal static class Samples
{
    public static Process Start(string sample, string arguments)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Derecho.sln"))) directory = directory.Parent;
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var dll = Path.Combine(directory?.FullName ?? throw new DirectoryNotFoundException("repository root (Derecho.sln) not found"), "samples", sample, "bin", configuration, "net10.0", $"{sample}.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"build samples/{sample} in {configuration} first", dll);
        return Process.Start(new ProcessStartInfo("dotnet", $"\"{dll}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"could not start {sample}");
    }
}

/// <summary>A throw-away etcd cluster on loopback: separate processes and data directories, removed afterwards.</summary>
internal sealed class EtcdCluster : IAsyncDisposable
{
    private readonly List<Process> _members;
    private readonly DirectoryInfo _data;

    private EtcdCluster(List<Process> members, DirectoryInfo data, string clientUrls)
    {
        _members = members;
        _data = data;
        ClientUrls = clientUrls;
    }

    public string ClientUrls { get; }

    /// <summary>Installs etcd with the repository's script if missing; returns why it is unavailable, or null.</summary>
    public static async Task<string?> EnsureInstalledAsync()
    {
        if (OnPath("etcd")) return null;
        var script = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "install-etcd.sh");
        if (!File.Exists(script)) return $"etcd is not installed and {script} is missing";
        using var install = Process.Start(new ProcessStartInfo("bash", $"\"{script}\"") { UseShellExecute = false })!;
        await install.WaitForExitAsync();
        return OnPath("etcd") ? null : $"etcd is not installed; benchmarks/install-etcd.sh failed (exit {install.ExitCode}): run it as root";
    }

    public static async Task<EtcdCluster> StartAsync(int size)
    {
        var ports = ChildProcess.FreePorts(2 * size);
        var data = Directory.CreateTempSubdirectory("derecho-etcd-");
        var peers = string.Join(',', Enumerable.Range(0, size).Select(i => $"e{i}=http://127.0.0.1:{ports[size + i]}"));
        var members = new List<Process>();
        for (var i = 0; i < size; i++)
        {
            var arguments = new StringBuilder()
                .Append($"--name e{i} --data-dir {Path.Combine(data.FullName, $"e{i}")} ")
                .Append($"--listen-client-urls http://127.0.0.1:{ports[i]} --advertise-client-urls http://127.0.0.1:{ports[i]} ")
                .Append($"--listen-peer-urls http://127.0.0.1:{ports[size + i]} --initial-advertise-peer-urls http://127.0.0.1:{ports[size + i]} ")
                .Append($"--initial-cluster {peers} --initial-cluster-token derecho-bench --initial-cluster-state new --logger zap --log-level error")
                .ToString();
            var process = Process.Start(new ProcessStartInfo("etcd", arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            members.Add(process);
        }
        var cluster = new EtcdCluster(members, data, string.Join(',', Enumerable.Range(0, size).Select(i => $"http://127.0.0.1:{ports[i]}")));
        using var probe = new EtcdClient(cluster.ClientUrls);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await probe.PutAsync("probe", "ready");
                return cluster;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, program)));

    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members)
        {
            if (!member.HasExited) member.Kill(entireProcessTree: true);
            await member.WaitForExitAsync();
            member.Dispose();
        }
        _data.Delete(recursive: true);
    }
}
