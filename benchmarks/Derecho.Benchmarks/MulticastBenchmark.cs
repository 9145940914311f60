using System.Globalization;
using System.Text.Json;

namespace Derecho.Benchmarks;

/// <summary>
/// Ordered multicast among 3 member processes on loopback, all sending, per message size; and in the
/// same run, loopback TCP bandwidth as the physical reference. With --tls each size runs a second time with
/// mutual TLS on every connection, and the cost of TLS is the ratio of the two. With --metrics each member
/// process has a MeterListener on every instrument of the meter "Derecho" and an ActivityListener sampling every span
/// (the cost of exporting; this raw data plane starts no spans, so it is the metrics' cost). With --listener-cost each
/// size runs four times, alternating without and with those listeners, and the JSON gives the ratio of the means.
/// </summary>
internal static class MulticastBenchmark
{
    private const int Members = 3;

    public static async Task<int> RunAsync(string[] args)
    {
        var json = args.Contains("--json");
        var seconds = Option(args, "--seconds", 3.0);
        var sizes = OptionList(args, "--sizes") ?? [100, 1_000, 10_000, 100_000, 1_000_000];
        var tlsFolder = args.Contains("--tls") ? BenchmarkCertificates.Create(Members) : null;
        var metrics = args.Contains("--metrics");
        var listenerCost = args.Contains("--listener-cost");
        if (listenerCost && metrics) { Console.Error.WriteLine("multicast: --listener-cost alternates runs with and without listeners; it cannot be combined with --metrics"); return 2; }

        // The physical reference first, on a quiet machine, best of three: the ratio must not flatter us.
        var tcp = 0.0;
        for (var trial = 0; trial < 3; trial++) tcp = Math.Max(tcp, await LoopbackTcpReference.MeasureMegabytesPerSecondAsync(Math.Min(seconds, 1.0)));
        Console.WriteLine($"Ordered multicast, {Members} processes on 127.0.0.1, all sending, {seconds:0.#}s per size ({Environment.ProcessorCount} cores){(metrics ? ", a MeterListener in each" : "")}");
        Console.WriteLine($"{"size",10} {"msgs/s",12} {"MB/s",10} {"p50 us",10} {"p99 us",10} {"batch",8} {"alloc B/msg",12}");
        var results = new List<Dictionary<string, object>>();
        var tlsResults = new List<Dictionary<string, object>>();
        var listenerResults = new List<Dictionary<string, object>>();
        foreach (var size in sizes)
        {
            foreach (var tls in tlsFolder is null ? new string?[] { null } : [null, tlsFolder])
            {
                var r = await RunSizeAsync(size, seconds, tls, metrics);
                if (r is null) { Console.WriteLine($"{size,10} FAILED{(tls is null ? "" : " (TLS)")}"); return 1; }
                var row = new Dictionary<string, object>
                {
                    ["size_bytes"] = size,
                    ["msgs_per_s"] = Math.Round(r.Value.MsgsPerSecond),
                    ["mb_per_s"] = Math.Round(r.Value.MsgsPerSecond * size / 1e6, 2),
                    ["p50_us"] = Math.Round(r.Value.P50, 1),
                    ["p99_us"] = Math.Round(r.Value.P99, 1),
                    ["allocated_bytes_per_msg"] = Math.Round(r.Value.Allocated, 3),
                };
                var tlsCost = tls is null ? "" : string.Create(CultureInfo.InvariantCulture,
                    $"  TLS: {100 * r.Value.MsgsPerSecond / (double)results[^1]["msgs_per_s"]:F0}% of plaintext");
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{size,10} {r.Value.MsgsPerSecond,12:N0} {r.Value.MsgsPerSecond * size / 1e6,10:N1} {r.Value.P50,10:N0} {r.Value.P99,10:N0} {r.Value.Batch,8:N1} {r.Value.Allocated,12:N2}{tlsCost}"));
                if (tls is null) results.Add(row);
                else
                {
                    row["of_plaintext"] = Math.Round(r.Value.MsgsPerSecond / (double)results[^1]["msgs_per_s"], 3);
                    tlsResults.Add(row);
                }
            }
            if (listenerCost && await ListenerCostAsync(size, seconds, results[^1]) is { } cost) listenerResults.Add(cost);
            else if (listenerCost) { Console.WriteLine($"{size,10} FAILED (listener cost)"); return 1; }
        }
        var largest = results.Count == 0 ? null : results.MaxBy(r => (int)r["size_bytes"]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Loopback TCP reference (one stream, 1 MB writes, best of 3): {tcp:N0} MB/s; {largest?["size_bytes"]} B multicast reaches {100 * (largest?["mb_per_s"] is double mb ? mb : 0) / tcp:F0}% of it"));
        var plots = new List<string>();
        if (Plots.FolderFrom(args) is { } folder && results.Count > 1)
        {
            var series = new List<(string, IReadOnlyList<(int, double)>)> { ("ordered multicast, 3 members, all sending", results.Select(r => ((int)r["size_bytes"], (double)r["mb_per_s"])).ToList()) };
            if (tlsResults.Count > 0) series.Add(("the same with mutual TLS", tlsResults.Select(r => ((int)r["size_bytes"], (double)r["mb_per_s"])).ToList()));
            plots.Add(Plots.ThroughputBySize(folder, "multicast-throughput", $"Ordered multicast on loopback ({Environment.ProcessorCount} cores): MB/s delivered per member", series,
                ("loopback TCP, one stream", tcp)));
            Console.WriteLine($"Plot: {plots[^1]}");
        }
        if (json)
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["plots"] = plots,
                ["results"] = results,
                ["tls"] = tlsResults,
                ["listener_cost"] = listenerResults,
                ["loopback_tcp_mb_per_s"] = Math.Round(tcp, 1),
            }));
        return 0;
    }

    /// <summary>
    /// Three more runs of one size after the plain one (<paramref name="plain"/>): with listeners, without, with. Alternating
    /// spreads the machine's drift over both settings; the ratio is of the means.
    /// </summary>
    private static async Task<Dictionary<string, object>?> ListenerCostAsync(int size, double seconds, Dictionary<string, object> plain)
    {
        var off = new List<double> { (double)plain["msgs_per_s"] };
        var on = new List<double>();
        var allocatedOn = new List<double>();
        foreach (var listening in new[] { true, false, true })
        {
            if (await RunSizeAsync(size, seconds, null, listening) is not { } r) return null;
            (listening ? on : off).Add(Math.Round(r.MsgsPerSecond));
            if (listening) allocatedOn.Add(r.Allocated);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{size,10} {r.MsgsPerSecond,12:N0} {r.MsgsPerSecond * size / 1e6,10:N1} {r.P50,10:N0} {r.P99,10:N0} {r.Batch,8:N1} {r.Allocated,12:N2}  {(listening ? "with" : "without")} listeners"));
        }
        var ratio = on.Average() / off.Average();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{size,10} listeners: {ratio:P0} of the throughput without (means of {string.Join(" / ", on.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))} vs {string.Join(" / ", off.Select(v => v.ToString("N0", CultureInfo.InvariantCulture)))})"));
        return new Dictionary<string, object>
        {
            ["size_bytes"] = size,
            ["without_msgs_per_s"] = off,
            ["with_msgs_per_s"] = on,
            ["with_over_without"] = Math.Round(ratio, 3),
            ["allocated_bytes_per_msg_without"] = plain["allocated_bytes_per_msg"],
            ["allocated_bytes_per_msg_with"] = Math.Round(allocatedOn.Average(), 3),
        };
    }

    private static async Task<(double MsgsPerSecond, double P50, double P99, double Batch, double Allocated)?> RunSizeAsync(int size, double seconds, string? tls, bool metrics)
    {
        var ports = ChildProcess.FreePorts(Members);
        var children = Enumerable.Range(0, Members)
            .Select(rank => ChildProcess.Start(string.Create(CultureInfo.InvariantCulture, $"{rank} {string.Join(',', ports)} {size} {seconds}{(tls is null ? "" : $" {tls}")}{(metrics ? " --metrics" : "")}")))
            .ToList();
        var lines = new List<string>();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + 150));
            var outputs = await Task.WhenAll(children.Select(c => c.StandardOutput.ReadToEndAsync(timeout.Token)));
            foreach (var child in children) await child.WaitForExitAsync(timeout.Token);
            lines = outputs.SelectMany(o => o.Split('\n')).Where(l => l.StartsWith("RESULT ", StringComparison.Ordinal)).ToList();
            foreach (var line in outputs.SelectMany(o => o.Split('\n')).Where(l => l.StartsWith("METRICS 0 ", StringComparison.Ordinal))) Console.WriteLine($"  {line.Trim()}");
            if (lines.Count != Members || children.Any(c => c.ExitCode != 0))
            {
                foreach (var child in children) Console.Error.WriteLine(await child.StandardError.ReadToEndAsync());
                return null;
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        finally
        {
            foreach (var child in children)
            {
                if (!child.HasExited) child.Kill(entireProcessTree: true);
                child.Dispose();
            }
        }

        var parsed = lines.Select(l => l.Split(' ').Skip(1).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
        var rate = parsed.Average(p => p[1] / p[2]);
        var batch = parsed.Average(p => p[1] / Math.Max(1, p[6]));
        return (rate, parsed.Average(p => p[3]), parsed.Average(p => p[4]), batch, parsed.Average(p => p[8]));
    }

    private static double Option(string[] args, string name, double fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static int[]? OptionList(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() : null;
    }
}
