using System.Diagnostics;
using Derecho.Client;
using Derecho.Errors;
using Derecho.Layout;
using Derecho.Rpc;
using Derecho.Tests.Support;

namespace Derecho.Tests.Rpc;

/// <summary>
/// P2P calls <c>.AtTime(t)</c>: a member answers from its shard's state at t once its stable time frontier passed t,
/// so every replica, asked at any later moment, gives the answer a replay of the shard's writes gives.
/// </summary>
public class TemporalQueryTests
{
    /// <summary>Two shards of two members: a writer on each shard, queries on every replica.</summary>
    private static Task<InProcessGroup> StartAsync() =>
        InProcessGroup.StartAsync(4, layout: l => l.Subgroup(context => new Meter(context), ShardPolicy.Fixed(2, 2)));

    /// <summary>[count, sum] after the last write stamped at or before <paramref name="ticks"/>: the replay of a shard's writes.</summary>
    private static long[] Replay(IReadOnlyList<long[]> writes, long ticks)
    {
        var last = writes.LastOrDefault(w => w[0] <= ticks);
        return last is null ? [0, 0] : [last[1], last[2]];
    }

    [Fact]
    public async Task Queries_at_many_times_on_every_replica_match_a_replay_of_the_writes()
    {
        await using var group = await StartAsync();
        var meters = group.Members[0].Subgroup<Meter>();
        Assert.Equal(2, meters.ShardCount);
        var writes = new List<long[]>[2];
        var duringWrites = new List<(int Shard, int Member, long Ticks, long[] Answer)>();

        // Each shard has its own writer; meanwhile members query the recent past of both shards.
        var writers = Enumerable.Range(0, 2).Select(shard => Task.Run(async () =>
        {
            var mine = writes[shard] = new List<long[]>();
            for (var i = 1; i <= 150; i++)
            {
                var replies = await meters.Shard(shard).Ordered.Add(i * (shard + 1));
                Assert.Single(replies.Select(r => string.Join(",", r.Value)).Distinct()); // every replica stamped and counted alike
                mine.Add(replies[0].Value);
            }
        })).ToArray();
        while (!writers.All(w => w.IsCompleted))
        {
            var at = DateTime.UtcNow.AddMilliseconds(-2);
            foreach (var shard in new[] { 0, 1 })
                foreach (var member in meters.Shard(shard).Members)
                {
                    var answer = await meters.Shard(shard).On(member).AtTime(at).Snapshot();
                    duringWrites.Add((shard, member, at.Ticks, answer));
                }
        }
        await Task.WhenAll(writers);
        Assert.NotEmpty(duringWrites);

        // An answer given while the writes went on is the replay's, and still the answer now.
        foreach (var (shard, member, ticks, answer) in duringWrites)
        {
            Assert.Equal(Replay(writes[shard], ticks), answer[..2]);
            var again = await meters.Shard(shard).On(member).AtTime(new DateTime(ticks, DateTimeKind.Utc)).Snapshot();
            Assert.Equal(answer, again);
        }

        // Times around every kind of moment: before the first write, exactly at writes, between them, after the last.
        foreach (var shard in new[] { 0, 1 })
        {
            var stamps = writes[shard].Select(w => w[0]).ToList();
            var times = new List<long> { stamps[0] - 1, stamps[0], stamps[^1], stamps[^1] + 1 };
            for (var i = 1; i < stamps.Count; i += 13) times.AddRange([stamps[i], stamps[i] - 1, (stamps[i - 1] + stamps[i]) / 2]);
            foreach (var ticks in times)
                foreach (var member in meters.Shard(shard).Members)
                {
                    // Asked through another member's group handle: the answer depends on the time only.
                    var asker = group.Members[(member + 1) % 4].Subgroup<Meter>();
                    var answer = await asker.Shard(shard).On(member).AtTime(new DateTime(ticks, DateTimeKind.Utc)).Snapshot();
                    Assert.Equal(Replay(writes[shard], ticks), answer[..2]);
                }
        }
    }

    [Fact]
    public async Task One_call_per_shard_at_the_same_time_is_a_consistent_snapshot_from_any_replicas()
    {
        await using var group = await StartAsync();
        var meters = group.Members[1].Subgroup<Meter>();
        for (var i = 0; i < 20; i++) await Task.WhenAll(meters.Shard(0).Ordered.Add(1), meters.Shard(1).Ordered.Add(1));
        var t = DateTime.UtcNow;
        for (var i = 0; i < 20; i++) await Task.WhenAll(meters.Shard(0).Ordered.Add(1), meters.Shard(1).Ordered.Add(1));

        // Every combination of one replica per shard gives the same snapshot at t.
        var snapshots = new HashSet<string>();
        foreach (var a in meters.Shard(0).Members)
            foreach (var b in meters.Shard(1).Members)
            {
                var both = await Task.WhenAll(meters.Shard(0).On(a).AtTime(t).Snapshot(), meters.Shard(1).On(b).AtTime(t).Snapshot());
                snapshots.Add($"{both[0][0]}:{both[1][0]}");
            }
        Assert.Equal(["20:20"], snapshots);
        Assert.Equal(t.Ticks, await meters.Shard(0).On(meters.Shard(0).Members[0]).AtTime(t).ReadTicks());
        Assert.Equal(0, await meters.Shard(0).On(meters.Shard(0).Members[0]).ReadTicks());
    }

    [Fact]
    public async Task A_time_beyond_the_frontier_waits_and_an_idle_shard_gets_there()
    {
        await using var group = await StartAsync();
        var meters = group.Members[0].Subgroup<Meter>();
        await meters.Shard(0).Ordered.Add(5);
        var t = DateTime.UtcNow.AddMilliseconds(400);
        var clock = Stopwatch.StartNew();
        var query = meters.Shard(0).On(meters.Shard(0).Members[1]).AtTime(t).Snapshot();
        await meters.Shard(0).Ordered.Add(7); // stamped before t: part of the answer
        var answer = await query.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(DateTime.UtcNow > t, "answered before the time it reads at");
        Assert.Equal(new long[] { 2, 12 }, answer[..2]);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the idle shard took {clock.Elapsed} to pass t");

        await meters.Shard(0).Ordered.Add(100); // after t: never part of it
        Assert.Equal(answer, await meters.Shard(0).On(meters.Shard(0).Members[0]).AtTime(t).Snapshot());
    }

    [Fact]
    public async Task Fail_fast_fails_at_once_and_a_time_far_ahead_is_refused()
    {
        await using var group = await StartAsync();
        var meters = group.Members[2].Subgroup<Meter>();
        var member = meters.Shard(1).Members[0];
        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<TimeNotStableException>(() => meters.Shard(1).On(member).AtTime(DateTime.UtcNow.AddSeconds(20), failFast: true).Snapshot());
        Assert.Contains("not stable yet", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        var far = await Assert.ThrowsAsync<RemoteCallException>(() => meters.Shard(1).On(member).AtTime(DateTime.UtcNow.AddMinutes(5)).Snapshot());
        Assert.Contains("ahead of member", far.Message);
        Assert.Throws<ArgumentException>(() => meters.Shard(1).On(member).AtTime(new DateTime(2026, 1, 1)));
    }

    [Fact]
    public async Task An_external_client_queries_at_a_time_like_a_member()
    {
        await using var group = await StartAsync();
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var meters = client.Subgroup<Meter>();
        var first = await meters.Shard(1).Ordered.Add(3);
        var t = new DateTime(first[0].Value[0], DateTimeKind.Utc);
        await meters.Shard(1).Ordered.Add(4);
        foreach (var member in meters.Shard(1).Members)
        {
            var answer = await meters.Shard(1).On(member).AtTime(t).Snapshot();
            Assert.Equal(new long[] { 1, 3 }, answer[..2]);
        }
        await Assert.ThrowsAsync<TimeNotStableException>(() => meters.Shard(1).On(meters.Shard(1).Members[0]).AtTime(DateTime.UtcNow.AddSeconds(30), failFast: true).Snapshot());
    }
}
