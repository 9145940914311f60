using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Derecho.Samples.SmartMemory;

/// <summary>
/// The flagship demo, with no arguments: 3 member processes (2 overlapping shards), the operator and the sensor
/// fleet as processes of their own; a kill -9 of member 2 at 40% of the run; a moment marked at 70% and queried at
/// the end from every replica; then every member shuts down. Exit code 0 when every alert the shards raised reached
/// the operator exactly once, the replicas agreed on the past, and every process ended cleanly. The operator serves
/// the live dashboard (<c>--dashboard HOST:PORT</c>, any free loopback port by default, <c>none</c> for none);
/// <c>--otel console|otlp</c> (with <c>--otel-interval-seconds</c>, <c>--otel-sample</c>) is passed to every process.
/// </summary>
internal static partial class Launcher
{
    private static readonly string[] TelemetryOptions = ["otel", "otel-interval-seconds", "otel-sample"];

    public static async Task<int> RunAsync(Arguments args)
    {
        var seconds = args.Int("seconds", 30);
        var rate = args.Int("rate", 4000);
        var sensors = args.Int("sensors", 1000);
        var layout = args.Text("layout", "overlap");
        var storeAll = args.Text("store-all", "false");
        var kill = args.Text("kill", layout == "overlap" ? "true" : "false") == "true";
        var count = MemberProcess.Layouts(layout).Members;
        var dashboard = args.Text("dashboard", "127.0.0.1:0");
        var telemetry = string.Join(' ', TelemetryOptions.Where(args.Has).Select(o => $"--{o} {args.Text(o)}"));
        var ports = Enumerable.Range(0, count).Select(_ => FreePort()).ToArray();
        var contacts = Arguments.FormatContacts(ports.Select((port, id) => (id, $"127.0.0.1:{port}")));
        var data = Path.Combine(Path.GetTempPath(), $"derecho-smartmemory-{Environment.ProcessId}");
        Console.WriteLine($"Smart memory: {count} members on 127.0.0.1 ports {string.Join(", ", ports)} (layout {layout}" +
                          (layout == "overlap" ? ": shard 0 on members 0,1; shard 1 on members 1,2" : "") + $"); {sensors} sensors at " +
                          (rate > 0 ? $"{rate} readings/s" : "the highest rate the members accept") + $" for {seconds} s" +
                          (kill ? $"; member 2 is killed at {seconds * 0.4:0} s" : "") + (storeAll == "true" ? "; every reading stored (no filter)" : ""));
        var members = new List<Child>();
        Child? fleet = null, operatorProcess = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + 240));
        try
        {
            for (var id = 0; id < count; id++)
                members.Add(Child.Start($"member {id}", $"member --id {id} --members {contacts} --data {data} --layout {layout} --store-all {storeAll} {telemetry}"));
            foreach (var member in members) await member.WaitForLineAsync("READY", timeout.Token);
            operatorProcess = Child.Start("operator", $"operator --contacts {contacts} --dashboard {dashboard} {telemetry}");
            await operatorProcess.WaitForLineAsync("SUBSCRIBED", timeout.Token);
            if (dashboard != "none") Console.WriteLine($"Live dashboard: {(await operatorProcess.WaitForLineAsync("DASHBOARD", timeout.Token))["DASHBOARD ".Length..]} (open it while the demo runs)");
            fleet = Child.Start("fleet", $"fleet --contacts {contacts} --sensors {sensors} --rate {rate} --seconds {seconds} {telemetry}");

            await Task.Delay(TimeSpan.FromSeconds(seconds * 0.4), timeout.Token);
            if (kill)
            {
                Console.WriteLine("KILL member 2 (SIGKILL): shard 1 goes on with member 1 alone");
                members[2].Process.Kill();
            }
            await Task.Delay(TimeSpan.FromSeconds(seconds * 0.3), timeout.Token);
            await operatorProcess.Process.StandardInput.WriteLineAsync("mark");
            await fleet.Process.WaitForExitAsync(timeout.Token);
            var fleetLine = await fleet.WaitForLineAsync("FLEET", timeout.Token);

            await Task.Delay(1000, timeout.Token); // the last tallies reach the shards
            await operatorProcess.Process.StandardInput.WriteLineAsync("finish");
            await operatorProcess.Process.WaitForExitAsync(timeout.Token);
            var operatorLine = await operatorProcess.WaitForLineAsync("OPERATOR", timeout.Token);
            var drained = await operatorProcess.WaitForLineAsync("DRAINED", timeout.Token);

            var survivors = kill ? members.Where((_, id) => id != 2).ToList() : members;
            foreach (var member in survivors) await member.Process.StandardInput.WriteLineAsync("shutdown");
            foreach (var member in survivors) await member.Process.WaitForExitAsync(timeout.Token);
            var failed = survivors.Where(m => m.Process.ExitCode != 0).Select(m => $"{m.Name} (exit {m.Process.ExitCode})")
                .Concat(new[] { fleet, operatorProcess }.Where(c => c.Process.ExitCode != 0).Select(c => $"{c.Name} (exit {c.Process.ExitCode})")).ToList();
            Report(fleetLine, operatorLine + " " + drained);
            if (failed.Count > 0) Console.WriteLine($"Failed: {string.Join(", ", failed)}");
            Console.WriteLine(failed.Count == 0 ? "Smart memory demo passed" : "Smart memory demo FAILED");
            return failed.Count == 0 ? 0 : 1;
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
            Console.WriteLine($"Smart memory demo FAILED: {e.Message}");
            return 1;
        }
        finally
        {
            foreach (var child in members.Append(fleet).Append(operatorProcess)) child?.Dispose();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The run in numbers: throughput, what was kept, detection quality against the fleet's ground truth.</summary>
    private static void Report(string fleetLine, string operatorLine)
    {
        var fleet = Fields(fleetLine);
        var op = Fields(operatorLine);
        double sent = fleet["sent"], injected = fleet["injected"], kept = op["kept"], keptFaults = op["kept-faults"];
        var handling = fleet["seconds"] + op["after"]; // from the first reading until the shards stopped changing
        Console.WriteLine($"RESULT {sent:0} readings at {fleet["rate"]:0}/s; kept {kept:0} ({100 * kept / Math.Max(1, sent):0.00}%), " +
                          $"alerts {op["alerts"]:0} (p50 {op["latency-p50"]:0.0} ms, p99 {op["latency-p99"]:0.0} ms end to end); " +
                          $"faults injected {injected:0}: precision {100 * keptFaults / Math.Max(1, kept):0.0}%, recall {100 * keptFaults / Math.Max(1, injected):0.0}%; " +
                          $"{fleet["not-accepted"]:0} readings not accepted during the failover");
        // The same figures for programs (the smartmemory benchmark reads this line).
        Console.WriteLine("SUMMARY " + System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, double>
        {
            ["readings"] = sent,
            ["readings_per_second"] = fleet["rate"],
            ["accepted_per_second"] = (sent - fleet["not-accepted"]) / fleet["seconds"],
            ["judged"] = op["judged"],
            ["judged_per_second"] = op["judged"] / handling,
            ["stored_per_second"] = kept / handling,
            ["drain_seconds"] = op["after"],
            ["kept"] = kept,
            ["kept_fraction"] = kept / Math.Max(1, sent),
            ["alerts"] = op["alerts"],
            ["alert_latency_p50_ms"] = op["latency-p50"],
            ["alert_latency_p99_ms"] = op["latency-p99"],
            ["faults_injected"] = injected,
            ["precision"] = keptFaults / Math.Max(1, kept),
            ["recall"] = keptFaults / Math.Max(1, injected),
            ["not_accepted"] = fleet["not-accepted"],
        }));
    }

    private static Dictionary<string, double> Fields(string line) =>
        FieldPattern().Matches(line).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"([a-z0-9-]+)=(-?[0-9.]+)")]
    private static partial Regex FieldPattern();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
