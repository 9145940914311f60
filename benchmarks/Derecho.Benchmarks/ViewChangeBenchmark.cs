using System.Globalization;
using System.Text.Json;

namespace Derecho.Benchmarks;

/// <summary>
/// Kill one of three members (SIGKILL, mid-stream, default failure timeout) and measure the time until the
/// survivors installed the new view, over several runs; and the survivors' ordered-call throughput before
/// the kill and after the new view.
/// </summary>
internal static class ViewChangeBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var json = args.Contains("--json");
        var runsAt = Array.IndexOf(args, "--runs");
        var runs = runsAt >= 0 ? int.Parse(args[runsAt + 1], CultureInfo.InvariantCulture) : 10;
        Console.WriteLine($"View change after SIGKILL of 1 of 3 members on 127.0.0.1, {runs} runs ({Environment.ProcessorCount} cores)");
        var delays = new List<double>();
        var before = new List<double>();
        var after = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var ports = ChildProcess.FreePorts(3);
            var children = Enumerable.Range(0, 3)
                .Select(id => ChildProcess.Start($"{id} {string.Join(',', ports)} 2", "--child-view")).ToList();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            var outputs = await Task.WhenAll(children.Select(c => c.StandardOutput.ReadToEndAsync(timeout.Token)));
            foreach (var child in children) await child.WaitForExitAsync(timeout.Token);
            var killedAt = outputs[2].Split('\n').Where(l => l.StartsWith("KILLAT ", StringComparison.Ordinal)).Select(l => long.Parse(l[7..], CultureInfo.InvariantCulture)).FirstOrDefault();
            var results = outputs.Take(2).Select(o => o.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))).ToList();
            if (killedAt == 0 || results.Any(r => r is null))
            {
                Console.WriteLine($"run {run + 1}: FAILED");
                foreach (var child in children) Console.Error.WriteLine(await child.StandardError.ReadToEndAsync());
                return 1;
            }
            var parsed = results.Select(r => r!.Split(' ').Skip(1).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
            var delay = parsed.Max(p => p[0]) - killedAt;
            delays.Add(delay);
            before.Add(parsed.Sum(p => p[1]));
            after.Add(parsed.Sum(p => p[2]));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {run + 1,2}: kill -> new view at both survivors {delay,6:F0} ms; calls/s before {before[^1],9:N0}, after {after[^1],9:N0}"));
            foreach (var child in children) child.Dispose();
        }
        delays.Sort();
        var median = delays.Count % 2 == 1 ? delays[delays.Count / 2] : (delays[delays.Count / 2 - 1] + delays[delays.Count / 2]) / 2;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median kill -> new view: {median:F0} ms (min {delays[0]:F0}, max {delays[^1]:F0}); acknowledged ordered calls/s (sum of survivors): before {before.Average():N0}, after {after.Average():N0}"));
        if (json)
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["runs"] = runs,
                ["kill_to_view_median_ms"] = median,
                ["kill_to_view_min_ms"] = delays[0],
                ["kill_to_view_max_ms"] = delays[^1],
                ["calls_per_s_before"] = Math.Round(before.Average()),
                ["calls_per_s_after"] = Math.Round(after.Average()),
            }));
        return 0;
    }
}
