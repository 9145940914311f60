using System.Net;
using System.Net.Sockets;
using Derecho.Layout;
using Derecho.Replication;
using Derecho.Tests.Support;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Rpc;

/// <summary>A member outside a shard counts a relay result only from the member it relayed the call through.</summary>
public sealed class RelayResultTests
{
    [Fact]
    public async Task A_relay_result_from_anyone_but_the_relaying_member_leaves_the_call_waiting_for_the_real_one()
    {
        var logs = new CapturingLoggerProvider();
        var turnstiles = new System.Collections.Concurrent.ConcurrentBag<Turnstile>();
        // Shard 0 is members 0 and 1; member 2 is outside it and relays through members[2 % 2], member 0.
        void Layout(LayoutBuilder l) => l.Subgroup(_ =>
        {
            var turnstile = new Turnstile();
            turnstile.Gate.Reset();
            turnstiles.Add(turnstile);
            return turnstile;
        }, ShardPolicy.Fixed(1, 2));
        await using var group = await InProcessGroup.StartAsync(3, logs, Layout);
        Assert.Equal([0, 1], group.Members[2].Layout.Subgroups[0].Shards[0]);

        var call = group.Members[2].Subgroup<Turnstile>().Ordered.Hold(30_000);
        await Eventually.True(() => turnstiles.Count(t => t.Holding > 0) == 2, "both replicas to be holding the call");

        // Forged results for the first request ids member 2 hands out: from member 1 (in the shard, not the relay) and a stranger.
        var forged = Enumerable.Range(1, 50).Select(i => ClientMessages.RelayResult((2L << 40) + i,
            [new RawReply(0, ReplyStatus.Ok, []), new RawReply(1, ReplyStatus.Ok, [])])).ToList();
        foreach (var message in forged) group.Members[1].SendForTest(2, message);
        var options = InProcessGroup.Options(0, group.Ports);
        using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await stranger.ConnectAsync(IPAddress.Loopback, group.Ports[2]);
        await stranger.SendAsync(RawFrames.HelloFrom(4242, GroupFingerprint.Of(options.GroupName, options.RingBytes, options.MaxPayloadBytes)));
        foreach (var message in forged) await stranger.SendAsync(RawFrames.MessageOf(message));
        await Eventually.True(() => call.IsCompleted || logs.Contains(LogLevel.Warning, "from 1 ignored: the call was relayed through member 0"), "member 1's result to be ignored");
        await Task.Delay(300); // the stranger's results are read too
        Assert.False(call.IsCompleted, "a forged relay result completed the call");

        foreach (var turnstile in turnstiles) turnstile.Gate.Set();
        var results = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([0, 1], results.MemberIds);
    }
}
