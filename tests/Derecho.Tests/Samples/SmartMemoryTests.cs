using System.Globalization;
using System.Text.RegularExpressions;
using Derecho.Tests.Support;

namespace Derecho.Tests.Samples;

/// <summary>
/// The flagship demo end to end, shortened: 3 member processes, the fleet and the operator as processes, member 2
/// killed mid-run. It must pass its own checks (every alert exactly once, replicas agreeing at the marked time) and
/// show that the pipeline kept judging after the kill and that the model was retrained and published. While it runs,
/// the operator's dashboard serves the group with the smart memory's panel, and every process exports its metrics
/// through OpenTelemetry (the console exporter, read back from the output).
/// </summary>
public sealed partial class SmartMemoryTests
{
    [Fact]
    public async Task The_demo_survives_a_kill_delivers_every_alert_once_and_its_replicas_agree_on_the_past()
    {
        using var demo = MemberProcess.StartSample("SmartMemory", -1, "--seconds 12 --rate 3000 --otel console --otel-interval-seconds 2");
        await demo.WaitForLine("Live dashboard: ");
        var page = demo.Output.First(l => l.StartsWith("Live dashboard: ", StringComparison.Ordinal)).Split(' ')[2];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        System.Text.Json.JsonElement panel = default;
        await Eventually.True(async () =>
        {
            string text;
            try { text = await http.GetStringAsync(new Uri(page + "snapshot")); }
            catch (HttpRequestException) { return false; } // not serving yet, or the group busy: ask again
            using var snapshot = System.Text.Json.JsonDocument.Parse(text);
            if (!snapshot.RootElement.TryGetProperty("panels", out _)) return false; // an error update ({ "error": … })
            var panels = snapshot.RootElement.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("title").GetString() == "Smart memory").ToList();
            if (panels.Count != 1 || !panels[0].GetProperty("rows").EnumerateArray().Any(r => r.GetProperty("value").GetString()!.StartsWith("judged ", StringComparison.Ordinal))) return false;
            panel = panels[0].Clone();
            return snapshot.RootElement.GetProperty("members").GetArrayLength() == 3;
        }, "the dashboard to show the three members and the smart memory's panel", 60);
        var rows = panel.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("key").GetString()).ToList();
        Assert.Equal(["shard 0 [0,1]", "shard 1 [1,2]", "alerts received", "alert latency (reading sent → alert received)"], rows);
        Assert.Contains("<title>Derecho dashboard</title>", await http.GetStringAsync(new Uri(page)));

        var exit = await demo.WaitAsync(TimeSpan.FromMinutes(4));
        var output = string.Join('\n', demo.Output);
        Assert.True(exit == 0, $"the demo failed (exit {exit}):\n{output}");
        Assert.Contains("Smart memory demo passed", output);
        Assert.Contains("KILL member 2", output);
        Assert.Contains("TEMPORAL consistent", output);
        Assert.Matches(@"ALERTS raised=[1-9][0-9]* received=[1-9][0-9]* missing=0 duplicates=0 unknown=0", output);
        // Shard 0 is answered from two replicas (members 0 and 1) at the marked time.
        Assert.Contains("shard 0 from member 0", output);
        Assert.Contains("shard 0 from member 1", output);
        // After the kill shard 1 runs on member 1 alone and still judges readings; models were retrained.
        var last = demo.Output.Last(l => l.Contains("LIVE", StringComparison.Ordinal));
        Assert.Contains("shard 1 [1]", last);
        Assert.True(ModelNumber().Matches(last).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).All(n => n >= 2), last);
        // OpenTelemetry's console exporter, in the members and in the operator (a client: its connections and calls).
        Assert.Contains(demo.Output, l => l.StartsWith("[member 0] Metric Name: derecho.multicast.delivered", StringComparison.Ordinal));
        Assert.Contains(demo.Output, l => l.StartsWith("[operator] Metric Name: derecho.client.", StringComparison.Ordinal));
        var result = demo.Output.Single(l => l.StartsWith("RESULT", StringComparison.Ordinal));
        Assert.Matches(@"recall ([5-9][0-9]|100)\.", result); // the detector finds most injected faults
    }

    [GeneratedRegex(@"model #(\d+)")]
    private static partial Regex ModelNumber();
}
