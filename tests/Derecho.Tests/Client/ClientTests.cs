using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Derecho.Client;
using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Rpc;
using Derecho.Tests.Support;
using Derecho.Wire;

namespace Derecho.Tests.Client;

/// <summary>An external client: not a member, same generated proxy, relayed ordered calls, direct P2P, failover.</summary>
public class ClientTests
{
    [Fact]
    public async Task Client_gets_every_replicas_reply_and_calls_members_directly()
    {
        await using var group = await InProcessGroup.StartAsync();
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        Assert.Equal([0, 1, 2], client.MemberIds);
        var register = client.Subgroup<Register>();

        var results = await register.Ordered.Set(42);
        Assert.Equal([0, 1, 2], results.Select(r => r.MemberId));
        Assert.All(results, r => Assert.Equal(1L, r.Value));
        foreach (var member in new[] { 0, 1, 2 }) Assert.Equal(42, await register.On(member).Get());

        var error = await Assert.ThrowsAsync<RemoteCallException>(() => register.Ordered.Explode("from a client"));
        Assert.Contains("from a client", error.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => register.On(7).Get());
    }

    [Fact]
    public async Task Client_fails_over_when_its_contact_dies_and_no_acknowledged_call_is_lost()
    {
        var group = await InProcessGroup.StartAsync();
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var register = client.Subgroup<Register>();
        var contact = client.Contact;
        for (var i = 0; i < 20; i++) await register.Ordered.Set(i);

        var survivors = group.Members.Where(m => m.MyId != contact).ToArray();
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        survivors[0].ViewChanged += (_, _, _) => changed.TrySetResult();
        await group.Members[contact].DisposeAsync(); // the contact crashes
        await changed.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await Eventually.True(() => client.Contact != contact && client.MemberIds.Count == 2, "the client to move to a new contact and view");

        var after = await register.Ordered.Set(100);
        Assert.Equal(survivors.Select(m => m.MyId), after.Select(r => r.MemberId));
        foreach (var member in survivors)
        {
            var history = await register.On(member.MyId).History();
            Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i).Append(100), history);
        }
        await Task.WhenAll(survivors.Select(m => m.ShutdownAsync()));
    }

    [Fact]
    public async Task Unreachable_contacts_are_named()
    {
        var ports = Ports.Free(1);
        var options = new DerechoClientOptions
        {
            Contacts = [new MemberOptions { Id = 0, Endpoint = $"127.0.0.1:{ports[0]}" }],
            ConnectTimeout = TimeSpan.FromSeconds(2),
        };
        var error = await Assert.ThrowsAsync<Derecho.Transport.TransportException>(() => DerechoClient.ConnectAsync(options));
        Assert.Contains($"member 0 (127.0.0.1:{ports[0]})", error.Message);
    }

    /// <summary>Tried: no member answers and the caller gives up after 300 ms of a 60 s connect timeout. Before, the token was ignored and the call ran the whole timeout.</summary>
    [Fact]
    public async Task Connecting_stops_when_the_caller_cancels()
    {
        var ports = Ports.Free(1);
        var options = new DerechoClientOptions
        {
            Contacts = [new MemberOptions { Id = 0, Endpoint = $"127.0.0.1:{ports[0]}" }],
            ConnectTimeout = TimeSpan.FromSeconds(60),
        };
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var connecting = DerechoClient.ConnectAsync(options, cancellationToken: cancel.Token);
        var finished = await Task.WhenAny(connecting, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.Same(connecting, finished);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connecting);
    }

    [Fact]
    public async Task A_stranger_on_the_clients_port_cannot_answer_its_call_for_the_members()
    {
        var replicas = new ConcurrentDictionary<int, Turnstile>();
        await using var group = await InProcessGroup.StartAsync(layout: l => l.Subgroup(c => replicas[c.MyId] = new Turnstile()));
        var port = Ports.Free(1)[0];
        var options = group.ClientOptions();
        options.ListenEndpoint = $"127.0.0.1:{port}";
        await using var client = await DerechoClient.ConnectAsync(options);
        foreach (var replica in replicas.Values) replica.Gate.Reset(); // the call waits in every replica
        var held = client.Subgroup<Turnstile>().Ordered.Hold(10_000);

        // Tried: a process with the group's fingerprint connects to the client's port and sends a relay result,
        // "from members 0, 1, 2", for every request id the client can have used so far.
        using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await stranger.ConnectAsync(IPAddress.Loopback, port);
        await stranger.SendAsync(RawFrames.HelloFrom(memberId: 4242, fingerprint: GroupFingerprint.Of(options.GroupName, options.RingBytes, options.MaxPayloadBytes)));
        RawReply[] forged = [new(0, ReplyStatus.Ok, []), new(1, ReplyStatus.Ok, []), new(2, ReplyStatus.Ok, [])];
        for (long request = 1; request <= 5; request++)
            await stranger.SendAsync(RawFrames.MessageOf(ClientMessages.RelayResult(request, forged)));
        await Task.Delay(500);
        Assert.False(held.IsCompleted, "a stranger's relay result completed the call");

        foreach (var replica in replicas.Values) replica.Gate.Set();
        var results = await held.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([0, 1, 2], results.MemberIds);
    }
}
