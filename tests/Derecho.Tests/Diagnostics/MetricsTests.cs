using Derecho.Client;
using Derecho.Layout;
using Derecho.Replication;
using Derecho.Tests.Support;
using Xunit;

namespace Derecho.Tests.Diagnostics;

/// <summary>Every instrument of the meter "Derecho" moves while an in-process group works, loses a member and serves a client.</summary>
public sealed class MetricsTests
{
    // Register on every member; Journal (persistent) on two of the three, so the third relays its calls.
    private static void Layout(LayoutBuilder l)
    {
        l.Subgroup(_ => new Register());
        l.Subgroup(c => new Journal(c), ShardPolicy.Fixed(1, 2));
    }

    [Fact]
    public async Task Each_instrument_moves_under_load_a_crash_and_a_client()
    {
        using var metrics = new MetricsRecorder();
        await using var group = await InProcessGroup.StartAsync(3, layout: Layout);
        foreach (var member in group.Members)
        {
            await Task.WhenAll(Enumerable.Range(0, 100).Select(i => member.Subgroup<Register>().Ordered.Set(i)));
            await member.Subgroup<Register>().On(member.MyId).Get();
            await member.Subgroup<Journal>().Ordered.Add(1);
        }
        await using (var client = await DerechoClient.ConnectAsync(group.ClientOptions()))
        {
            await client.Subgroup<Register>().Ordered.Set(7);
            Assert.True(metrics.Sum("derecho.client.connections") >= 1, "the member the client talks to serves it");
        }
        metrics.Collect();

        Assert.True(metrics.Sum("derecho.multicast.delivered") >= 3 * 3 * 100, "every member delivers every Register call");
        Assert.True(metrics.Sum("derecho.multicast.delivered.bytes") > metrics.Sum("derecho.multicast.delivered"), "each call is more than a byte");
        Assert.True(metrics.Count("derecho.multicast.batch.size") > 0);
        Assert.Contains("Derecho.Tests.Support.Register", metrics.TagValues("derecho.multicast.delivered", "derecho.replicated_type"));
        Assert.Contains("Derecho.Tests.Support.Journal", metrics.TagValues("derecho.multicast.delivered", "derecho.replicated_type"));
        Assert.Equal("ordered,p2p,relayed", string.Join(',', metrics.TagValues("derecho.call.duration", "derecho.call.kind").Order()));
        Assert.True(metrics.Sum("derecho.relay.count") >= 2, "the Journal call of the member outside its shard, and the client's call");
        Assert.True(metrics.Count("derecho.log.fsync.duration") > 0);
        Assert.True(metrics.Sum("derecho.log.fsync.batch") >= 3, "three Journal calls logged at each of its replicas");
        Assert.True(metrics.Count("derecho.ring.occupancy") >= 3 + 2, "a ring per shard a member holds: three of Register, two of Journal");
        Assert.Equal("delivered,globally_persisted,persisted", string.Join(',', metrics.TagValues("derecho.shard.version", "derecho.version.kind").Order()));

        await group.Members[2].DisposeAsync(); // a crash: the others suspect it and install a view without it
        await Eventually.True(() => group.Members[..2].All(m => m.View.Members.Count == 2), "the survivors install a view of two");
        await Eventually.True(() => metrics.Sum("derecho.view.changes") >= 2, "both survivors count the view change");
        Assert.True(metrics.Sum("derecho.suspicions") >= 2);
        Assert.True(metrics.Count("derecho.view.change.duration") >= 2);
        await Eventually.True(() => metrics.Sum("derecho.client.connections") == 0, "the member forgets the client that left");
    }
}
