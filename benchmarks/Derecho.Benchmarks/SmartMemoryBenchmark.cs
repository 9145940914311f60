using System.Diagnostics;
using System.Text.Json;

namespace Derecho.Benchmarks;

/// <summary>
/// The smart memory end to end (samples/SmartMemory, its own processes): the fleet sends as fast as the members
/// accept, for 1 shard x 3 and 2 shards x 3, each with the model filtering (the smart memory) and with every reading
/// stored through ordered calls (the reference it must beat), in one run. Figures: readings/s ingested and judged,
/// the fraction stored, alert latency p50/p99 (reading sent → notification received), precision and recall
/// against the fleet's injected faults. No member is killed here.
/// </summary>
internal static class SmartMemoryBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var json = args.Contains("--json");
        var seconds = Option(args, "--seconds", 15);
        var rate = Option(args, "--rate", 0); // 0: as fast as accepted
        var sample = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "samples", "SmartMemory", "bin",
            AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug", "net10.0", "SmartMemory.dll");
        if (!File.Exists(sample)) throw new FileNotFoundException("build samples/SmartMemory first (the benchmark project references it)", sample);
        var results = new Dictionary<string, object>();
        foreach (var layout in new[] { "1x3", "2x3" })
            foreach (var storeAll in new[] { false, true })
            {
                var name = $"{layout}_{(storeAll ? "store_all" : "filtered")}";
                Console.WriteLine($"smartmemory {name}: {seconds} s, rate {(rate == 0 ? "as fast as accepted" : rate.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
                var summary = await RunOnceAsync(sample, $"--layout {layout} --store-all {(storeAll ? "true" : "false")} --seconds {seconds} --rate {rate} --kill false");
                if (summary is null) return 1;
                results[name] = summary;
                Console.WriteLine($"  {summary["accepted_per_second"]:0} readings/s accepted; until the shards were idle ({summary["drain_seconds"]:0.0} s after the fleet stopped) {summary["judged_per_second"]:0}/s judged, {summary["stored_per_second"]:0}/s stored; kept {100 * summary["kept_fraction"]:0.00}%, alerts {summary["alerts"]:0} " +
                                  $"(p50 {summary["alert_latency_p50_ms"]:0.0} ms, p99 {summary["alert_latency_p99_ms"]:0.0} ms), " +
                                  $"precision {100 * summary["precision"]:0.0}%, recall {100 * summary["recall"]:0.0}%, not accepted {summary["not_accepted"]:0}");
            }
        foreach (var layout in new[] { "1x3", "2x3" })
        {
            var filtered = (Dictionary<string, double>)results[$"{layout}_filtered"];
            var all = (Dictionary<string, double>)results[$"{layout}_store_all"];
            // What each handled by the end of the run: judged readings for the smart memory, stored ones for the reference.
            var ratio = filtered["judged_per_second"] / Math.Max(1, all["stored_per_second"]);
            results[$"{layout}_judged_vs_stored_all"] = ratio;
            Console.WriteLine($"{layout}: the smart memory judges {ratio:0.00}x the readings/s that storing every reading stores");
        }
        if (json) Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["smartmemory"] = results }));
        return 0;
    }

    private static async Task<Dictionary<string, double>?> RunOnceAsync(string sample, string arguments)
    {
        var info = new ProcessStartInfo("dotnet", $"\"{sample}\" {arguments}") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the smart memory");
        string? summary = null;
        var lines = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (lines) lines.Add(e.Data);
            if (e.Data.StartsWith("SUMMARY ", StringComparison.Ordinal)) summary = e.Data["SUMMARY ".Length..];
            else if (e.Data.Contains("[fleet] PROGRESS", StringComparison.Ordinal)) Console.WriteLine("  " + e.Data);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); }
        process.WaitForExit();
        if (process.ExitCode == 0 && summary is not null) return JsonSerializer.Deserialize<Dictionary<string, double>>(summary);
        lock (lines) Console.WriteLine($"the smart memory failed (exit {process.ExitCode}):\n{string.Join('\n', lines.TakeLast(60))}");
        return null;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    }
}
