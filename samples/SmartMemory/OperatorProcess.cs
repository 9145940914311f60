using System.Collections.Concurrent;
using System.Diagnostics;
using Derecho.Client;
using Derecho.Membership;
using Derecho.Rpc;

namespace Derecho.Samples.SmartMemory;

/// <summary>
/// The operator, an external client: subscribes to every shard's alerts and prints each with its end-to-end latency
/// (reading sent → notification received), shows a live view of the shards once a second, and on "mark" remembers a
/// moment. On "finish" it asks every replica of every shard what it held at that moment (temporal queries: the same
/// answer from each), checks that it received every alert the shards raised exactly once, and prints the truth counts.
/// With <c>--dashboard HOST:PORT</c> it serves the live dashboard with the smart memory's panel; <c>--otel</c> exports its
/// metrics and traces (<see cref="Telemetry"/>).
/// </summary>
internal static class OperatorProcess
{
    public static async Task<int> RunAsync(Arguments args)
    {
        var window = TimeSpan.FromSeconds(args.Int("window-seconds", 5));
        using var telemetry = Telemetry.Start(args, "operator");
        await using var client = await DerechoClient.ConnectAsync(new DerechoClientOptions
        {
            Contacts = args.Contacts().Select(c => new MemberOptions { Id = c.Id, Endpoint = c.Endpoint }).ToList(),
        });
        var shards = client.Subgroup<SensorShard>();
        var received = new ConcurrentDictionary<long, int>();
        var latencies = new ConcurrentBag<double>();
        var printed = 0;
        using var stop = new CancellationTokenSource();
        var subscriptions = Enumerable.Range(0, shards.ShardCount).Select(shard => Task.Run(async () =>
        {
            await foreach (var alert in shards.Shard(shard).SubscribeAsync<Alert>(SensorShard.AlertTopic, cancellationToken: stop.Token))
            {
                var a = alert.Value;
                var latency = TimeSpan.FromTicks(DateTime.UtcNow.Ticks - a.SentTicks).TotalMilliseconds;
                latencies.Add(latency);
                var times = received.AddOrUpdate(((long)a.Sensor << 40) | a.Sequence, 1, (_, n) => n + 1);
                if (times > 1) Console.WriteLine($"DUPLICATE alert sensor={a.Sensor} seq={a.Sequence} (version {alert.Version})");
                if (Interlocked.Increment(ref printed) <= 12 || printed % 25 == 0)
                    Console.WriteLine($"ALERT shard={a.Shard} sensor={a.Sensor} seq={a.Sequence} score={a.Score:0.000} model=#{a.ModelNumber} latency={latency:0.0}ms (#{printed})");
            }
        }, stop.Token)).ToList();
        await using var dashboard = args.Text("dashboard", "none") is var at and not "none"
            ? await OperatorDashboard.StartAsync(at, client, new SmartMemoryPanel(shards, received, latencies))
            : null;
        if (dashboard is not null) Console.WriteLine($"DASHBOARD {dashboard.Urls.First()}/derecho/");
        Console.WriteLine($"SUBSCRIBED shards={shards.ShardCount}");

        var commands = Channel();
        var started = Stopwatch.StartNew();
        DateTime? mark = null;
        (TimeSpan At, long Judged) lastJudged = (TimeSpan.Zero, 0);
        while (true)
        {
            var next = await Task.WhenAny(commands.Reader.WaitToReadAsync().AsTask(), Task.Delay(1000));
            if (commands.Reader.TryRead(out var command))
            {
                if (command == "mark")
                {
                    mark = DateTime.UtcNow;
                    Console.WriteLine($"MARK {mark:O}");
                    continue;
                }
                if (command is "finish" or null) break;
            }
            lastJudged = await PrintLiveViewAsync(client, shards, started.Elapsed, received.Count, lastJudged);
        }

        // Everything accepted is judged (and what is kept, stored) before the checks: wait until the shards stop changing.
        var drain = Stopwatch.StartNew();
        for (string? before = null, now = await ProgressAsync(shards); now != before && drain.Elapsed < TimeSpan.FromSeconds(90); before = now, now = await ProgressAsync(shards))
            await Task.Delay(1000);
        Console.WriteLine($"DRAINED after={drain.Elapsed.TotalSeconds:0.0}");
        var ok = true;
        if (mark is { } t) ok &= await TemporalQueryAsync(shards, t, window);
        ok &= await CheckAlertsAsync(shards, received);
        foreach (var failed in subscriptions.Where(t => t.IsFaulted))
        {
            Console.WriteLine($"SUBSCRIPTION failed: {failed.Exception?.InnerException?.Message}");
            ok = false;
        }
        long kept = 0, keptFaults = 0, judged = 0;
        for (var shard = 0; shard < shards.ShardCount; shard++)
        {
            var member = shards.Shard(shard).Members[0];
            var truth = await shards.Shard(shard).On(member).KeptTruth();
            kept += truth[0];
            keptFaults += truth[1];
            var counts = (await shards.Shard(shard).On(member).Summary(0)).Counts;
            judged += counts.Judged + counts.Unjudged;
        }
        var sorted = latencies.Order().ToList();
        Console.WriteLine($"OPERATOR alerts={received.Count} duplicates={received.Values.Count(n => n > 1)} kept={kept} kept-faults={keptFaults} judged={judged} " +
                          $"latency-p50={SmartMemoryPanel.Percentile(sorted, 0.5):0.0}ms latency-p99={SmartMemoryPanel.Percentile(sorted, 0.99):0.0}ms ok={ok}");
        await stop.CancelAsync();
        return ok ? 0 : 1;
    }

    private static System.Threading.Channels.Channel<string?> Channel()
    {
        var channel = System.Threading.Channels.Channel.CreateUnbounded<string?>();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                var line = await Console.In.ReadLineAsync();
                await channel.Writer.WriteAsync(line);
                if (line is null) return;
            }
        });
        return channel;
    }

    /// <summary>One line of the live view; returns the readings judged so far, for the next line's rate.</summary>
    private static async Task<(TimeSpan At, long Judged)> PrintLiveViewAsync(DerechoClient client, SubgroupHandle<SensorShard> shards, TimeSpan elapsed, int alerts,
        (TimeSpan At, long Judged) last)
    {
        var parts = new List<string>();
        long judged = 0;
        for (var shard = 0; shard < shards.ShardCount; shard++)
        {
            var (summary, text) = await SmartMemoryPanel.DescribeAsync(shards, shard, CancellationToken.None);
            if (summary is null) parts.Add($"shard {shard}: {text}");
            else
            {
                parts.Add($"shard {shard} [{string.Join(',', shards.Shard(shard).Members)}]: {text}");
                judged += summary.Counts.Judged + summary.Counts.Unjudged;
            }
        }
        var rate = (judged - last.Judged) / Math.Max(0.001, (elapsed - last.At).TotalSeconds);
        Console.WriteLine($"LIVE t={elapsed.TotalSeconds:0}s view [{string.Join(',', client.MemberIds)}] {rate:0} judged/s | {string.Join(" | ", parts)} | alerts received {alerts}");
        return (elapsed, judged);
    }

    /// <summary>What the shards have judged and kept so far, as one comparable string.</summary>
    private static async Task<string> ProgressAsync(SubgroupHandle<SensorShard> shards)
    {
        var parts = new List<string>();
        for (var shard = 0; shard < shards.ShardCount; shard++)
            parts.Add((await shards.Shard(shard).On(shards.Shard(shard).Members[0]).Summary(0)).Counts.ToString());
        return string.Join('|', parts);
    }

    /// <summary>Every replica of every shard, asked what it held at <paramref name="t"/>: one answer per shard.</summary>
    private static async Task<bool> TemporalQueryAsync(SubgroupHandle<SensorShard> shards, DateTime t, TimeSpan window)
    {
        var consistent = true;
        Console.WriteLine($"TEMPORAL query at {t:HH:mm:ss.fff} (events kept in the {window.TotalSeconds:0} s before it):");
        for (var shard = 0; shard < shards.ShardCount; shard++)
        {
            var answers = new List<ShardSummary>();
            foreach (var member in shards.Shard(shard).Members)
            {
                var s = await shards.Shard(shard).On(member).AtTime(t).Summary(window.Ticks);
                answers.Add(s);
                Console.WriteLine($"  shard {shard} from member {member}: judged {s.Counts.Judged}, dropped {s.Counts.Dropped}, kept {s.Counts.Kept}, alerts {s.Counts.Alerts}, " +
                                  $"model #{s.ModelNumber} in force, {s.WindowEvents} events ({s.WindowAlerts} alerts) in the window, digest {s.WindowDigest:x16}");
            }
            if (answers.Select(a => a with { AtTicks = 0 }).Distinct().Count() > 1)
            {
                consistent = false;
                Console.WriteLine($"  shard {shard}: the replicas DISAGREE");
            }
        }
        Console.WriteLine(consistent ? "TEMPORAL consistent: every replica of each shard gave the same answer" : "TEMPORAL INCONSISTENT");
        return consistent;
    }

    /// <summary>Every alert a shard raised was received exactly once (waiting a little for the last to arrive).</summary>
    private static async Task<bool> CheckAlertsAsync(SubgroupHandle<SensorShard> shards, ConcurrentDictionary<long, int> received)
    {
        var raised = new HashSet<long>();
        for (var shard = 0; shard < shards.ShardCount; shard++)
            raised.UnionWith(await shards.Shard(shard).On(shards.Shard(shard).Members[0]).AlertKeys());
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (raised.Any(k => !received.ContainsKey(k)) && DateTime.UtcNow < deadline) await Task.Delay(100);
        var missing = raised.Count(k => !received.ContainsKey(k));
        var duplicates = received.Values.Count(n => n > 1);
        var strangers = received.Keys.Count(k => !raised.Contains(k));
        Console.WriteLine($"ALERTS raised={raised.Count} received={received.Count} missing={missing} duplicates={duplicates} unknown={strangers}");
        return missing == 0 && duplicates == 0 && strangers == 0;
    }
}
