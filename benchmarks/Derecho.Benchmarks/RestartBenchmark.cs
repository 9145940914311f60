using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Derecho.Hosting;
using Derecho.Membership;

namespace Derecho.Benchmarks;

/// <summary>
/// Total restart of a 3-member group (members in this process, real sockets and disks): (1) every member's
/// log holds about <c>--log-mb</c> of durable versions; all stop and all restart: time until every member is
/// back in one view with every version; (2) member 2 is removed, the other two acknowledge <c>--behind</c>
/// more versions, all stop and all restart: time until member 2 is back in the view with them. The
/// reference is reading the same bytes back from the page cache with one sequential read per file.
/// </summary>
internal static class RestartBenchmark
{
    private const int BlobBytes = 64 << 10;

    public static async Task<int> RunAsync(string[] args)
    {
        var json = args.Contains("--json");
        var logMegabytes = Option(args, "--log-mb", 1024);
        var behind = Option(args, "--behind", 100_000);
        var root = Directory.CreateTempSubdirectory("derecho-restart-bench-");
        try
        {
            Console.WriteLine($"Restart of 3 members, {logMegabytes} MB of log each, then one member behind by {behind:N0} versions ({Environment.ProcessorCount} cores, {root.FullName})");
            var ports = Ports(3);
            var members = await StartAll(root.FullName, ports);
            var blob = new byte[BlobBytes];
            Random.Shared.NextBytes(blob);
            var puts = (int)((long)logMegabytes * (1 << 20) / BlobBytes);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < puts; i += 32)
                await Task.WhenAll(Enumerable.Range(0, Math.Min(32, puts - i)).Select(k => members[k % 3].Subgroup<Blobs>().Ordered.Put(blob)));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {puts:N0} durable versions of {BlobBytes >> 10} KB in {clock.Elapsed.TotalSeconds:F1} s"));
            await Task.WhenAll(members.Select(m => m.DisposeAsync().AsTask()));
            var onDisk = Directory.EnumerateFiles(Path.Combine(root.FullName, "member-0"), "*.log", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            var reference = ReadBack(Path.Combine(root.FullName, "member-0"));

            ports = Ports(3);
            clock.Restart();
            members = await StartAll(root.FullName, ports);
            var restart = clock.Elapsed.TotalSeconds;
            var latest = await members[0].Subgroup<Blobs>().On(2).Latest();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"restart with {onDisk / 1e6:N0} MB of log per member: {restart:F2} s until all 3 are in view {members[0].View.Id} with {latest[1]:N0} versions each; one sequential read of those files: {reference:F2} s"));

            // Member 2 goes away; the others acknowledge `behind` small versions; all stop and restart.
            await members[2].DisposeAsync();
            while (members[0].View.Members.Count != 2) await Task.Delay(10);
            var small = new byte[16];
            for (var i = 0; i < behind; i += 256)
                await Task.WhenAll(Enumerable.Range(0, Math.Min(256, behind - i)).Select(k => members[k % 2].Subgroup<Blobs>().Ordered.Put(small)));
            await Task.WhenAll(members[..2].Select(m => m.DisposeAsync().AsTask()));
            ports = Ports(3);
            clock.Restart();
            members = await StartAll(root.FullName, ports);
            while (members.Any(m => m.View.Members.Count != 3)) await Task.Delay(5);
            var rejoin = clock.Elapsed.TotalSeconds;
            var behindLatest = await members[0].Subgroup<Blobs>().On(2).Latest();
            var leaderLatest = await members[0].Subgroup<Blobs>().On(0).Latest();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"restart with member 2 behind by {behind:N0} versions: {rejoin:F2} s until all 3 are in one view (member 2 at version {behindLatest[0]}, {behindLatest[1]:N0} versions; member 0 at {leaderLatest[0]}, {leaderLatest[1]:N0})"));
            await Task.WhenAll(members.Select(m => m.ShutdownAsync()));
            if (json)
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["log_mb_per_member"] = Math.Round(onDisk / 1e6),
                    ["restart_s"] = Math.Round(restart, 3),
                    ["sequential_read_s"] = Math.Round(reference, 3),
                    ["behind_versions"] = behind,
                    ["restart_with_member_behind_s"] = Math.Round(rejoin, 3),
                    ["member_behind_caught_up"] = behindLatest[0] == leaderLatest[0],
                }));
            return 0;
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static async Task<DerechoGroup[]> StartAll(string data, int[] ports) =>
        await Task.WhenAll(Enumerable.Range(0, 3).Select(id => DerechoGroup.JoinAsync(new DerechoOptions
        {
            MyId = id,
            Members = ports.Select((p, i) => new MemberOptions { Id = i, Endpoint = $"127.0.0.1:{p}" }).ToList(),
            DataDirectory = data,
            RingBytes = 16 << 20,
            MaxPayloadBytes = 1 << 20,
            FailureTimeout = TimeSpan.FromSeconds(1),
            ConnectTimeout = TimeSpan.FromMinutes(5),
        }, layout => layout.Subgroup(context => new Blobs(context)))));

    private static double ReadBack(string directory)
    {
        var clock = Stopwatch.StartNew();
        foreach (var file in Directory.EnumerateFiles(directory, "*.log", SearchOption.AllDirectories)) File.ReadAllBytes(file);
        return clock.Elapsed.TotalSeconds;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static int[] Ports(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((System.Net.IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
