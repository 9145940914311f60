using System.Collections.Concurrent;
using Derecho.Client;
using Derecho.Dashboard;
using Derecho.Rpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Derecho.Samples.SmartMemory;

/// <summary>
/// The operator's live dashboard (<c>--dashboard HOST:PORT</c>): Derecho's page (view, members, shards, versions, lag,
/// events) with the smart memory's own panel beside it: what each shard judged, dropped, kept and raised, the model in
/// force, and the alerts the operator received with their end-to-end latency.
/// </summary>
internal static class OperatorDashboard
{
    /// <summary>Serves the dashboard at http://<paramref name="endpoint"/>/derecho/ (port 0: any free one); the URL is the app's first.</summary>
    public static async Task<WebApplication> StartAsync(string endpoint, DerechoClient client, DashboardPanel panel)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{endpoint}");
        var app = builder.Build();
        app.MapDerechoDashboard("/derecho", client, options => options.Panels.Add(panel));
        await app.StartAsync();
        return app;
    }
}

/// <summary>The smart memory's panel: one row per shard (asked of its first replica, as the live view does) and the alerts received.</summary>
internal sealed class SmartMemoryPanel(SubgroupHandle<SensorShard> shards, ConcurrentDictionary<long, int> received, ConcurrentBag<double> latencies) : DashboardPanel
{
    public override string Title => "Smart memory";

    public override async Task<IReadOnlyList<KeyValuePair<string, string>>> ReadAsync(CancellationToken cancellationToken)
    {
        var rows = new List<KeyValuePair<string, string>>();
        for (var shard = 0; shard < shards.ShardCount; shard++)
            rows.Add(new($"shard {shard} [{string.Join(',', shards.Shard(shard).Members)}]", (await DescribeAsync(shards, shard, cancellationToken)).Text));
        var sorted = latencies.Order().ToList();
        rows.Add(new("alerts received", received.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        rows.Add(new("alert latency (reading sent → alert received)", sorted.Count == 0 ? "-" : $"p50 {Percentile(sorted, 0.5):0.0} ms, p99 {Percentile(sorted, 0.99):0.0} ms"));
        return rows;
    }

    /// <summary>A shard's counts as its first replica gives them, or why it did not answer.</summary>
    public static async Task<(ShardSummary? Summary, string Text)> DescribeAsync(SubgroupHandle<SensorShard> shards, int shard, CancellationToken cancellationToken)
    {
        if (shards.Shard(shard).Members.Count == 0) return (null, "(no members)");
        try
        {
            var s = await shards.Shard(shard).On(shards.Shard(shard).Members[0]).Summary(0, cancellationToken).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            return (s, $"judged {s.Counts.Judged} dropped {s.Counts.Dropped} kept {s.Counts.Kept} alerts {s.Counts.Alerts} model #{s.ModelNumber}");
        }
        catch (Exception e) when (e is Derecho.Errors.DerechoException or TimeoutException or ArgumentException)
        {
            return (null, $"({e.GetType().Name})");
        }
    }

    /// <summary>The nearest-rank percentile of a sorted list (0 for an empty one).</summary>
    public static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
