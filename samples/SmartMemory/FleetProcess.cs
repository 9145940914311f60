using System.Diagnostics;
using Derecho.Client;
using Derecho.Membership;

namespace Derecho.Samples.SmartMemory;

/// <summary>
/// The sensor fleet, an external client: sends every reading as a trigger call to the shard that owns its sensor,
/// at a steady rate, without waiting for each; the client batches them per member and holds the sender back when
/// too many are unacknowledged. Readings a member did not accept (it died with them in flight) are counted, not
/// re-sent: a reading is a sample, and sending it twice could raise an alert twice.
/// </summary>
internal static class FleetProcess
{
    public static async Task<int> RunAsync(Arguments args)
    {
        var sensors = args.Int("sensors", 1000);
        var rate = args.Int("rate", 4000); // readings per second; 0: as fast as accepted
        var duration = TimeSpan.FromSeconds(args.Int("seconds", 30));
        var fleet = new SensorFleet(sensors, args.Int("seed", 1), commissioning: TimeSpan.FromSeconds(2));
        using var telemetry = Telemetry.Start(args, "fleet");
        await using var client = await DerechoClient.ConnectAsync(new DerechoClientOptions
        {
            Contacts = args.Contacts().Select(c => new MemberOptions { Id = c.Id, Endpoint = c.Endpoint }).ToList(),
        });
        var shards = client.Subgroup<SensorShard>();
        long sent = 0, notAccepted = 0;
        // Readings of one batch share one task: count each batch once, with its number of readings.
        var batches = new Dictionary<Task, int>();
        var clock = Stopwatch.StartNew();
        var nextReport = TimeSpan.FromSeconds(1);
        var sensor = 0;
        while (clock.Elapsed < duration)
        {
            // --rate 0: as fast as the members accept (a burst, then wait while many batches are unacknowledged).
            var due = rate > 0 ? (long)(rate * clock.Elapsed.TotalSeconds) : sent + 2000;
            for (; sent < due; sent++)
            {
                var reading = fleet.Next(sensor, clock.Elapsed, duration);
                var accepted = shards.ShardFor((long)sensor).Trigger.Observe(reading);
                sensor = (sensor + 1) % sensors;
                batches[accepted] = batches.GetValueOrDefault(accepted) + 1;
            }
            notAccepted += Settle(batches);
            if (clock.Elapsed >= nextReport)
            {
                Console.WriteLine($"PROGRESS sent={sent} not-accepted={notAccepted} rate={sent / clock.Elapsed.TotalSeconds:0}/s");
                nextReport += TimeSpan.FromSeconds(1);
            }
            if (rate > 0) await Task.Delay(5);
            else if (batches.Count > 16) await Task.WhenAny(batches.Keys);
        }
        // Every reading is either accepted by a member or known not to be.
        var outstanding = batches.Keys.ToList();
        await Task.WhenAny(Task.WhenAll(outstanding), Task.Delay(TimeSpan.FromSeconds(30)));
        notAccepted += Settle(batches);
        Console.WriteLine($"FLEET sent={sent} injected={fleet.FaultsInjected} not-accepted={notAccepted} unsettled={batches.Values.Sum()} seconds={clock.Elapsed.TotalSeconds:0.0} rate={sent / clock.Elapsed.TotalSeconds:0}");
        return batches.Count == 0 ? 0 : 1;
    }

    /// <summary>Forgets completed batches; returns how many readings of them were not accepted.</summary>
    private static long Settle(Dictionary<Task, int> batches)
    {
        long failed = 0;
        foreach (var (task, count) in batches.Where(b => b.Key.IsCompleted).ToList())
        {
            if (task.Exception is not null) failed += count; // reading Exception also marks it observed
            batches.Remove(task);
        }
        return failed;
    }
}
