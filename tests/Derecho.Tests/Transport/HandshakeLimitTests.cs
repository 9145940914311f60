using System.Net;
using System.Net.Sockets;
using Derecho.Tests.Support;
using Derecho.Transport;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Transport;

/// <summary>
/// Abuse limits of the handshake: strangers that connect and never say hello hold a member's connection slots
/// only until the hello deadline, and never more than the cap; a real peer gets in once they are gone.
/// </summary>
public class HandshakeLimitTests
{
    [Fact]
    public async Task Silent_connections_are_capped_and_dropped_at_the_hello_deadline_and_a_real_peer_then_gets_in()
    {
        var ports = Ports.Free(2);
        var endpoints = new Dictionary<int, IPEndPoint> { [0] = new(IPAddress.Loopback, ports[0]), [1] = new(IPAddress.Loopback, ports[1]) };
        var log = new CapturingLoggerProvider();
        var options = new TcpTransportOptions
        {
            LocalId = 0,
            Endpoints = endpoints,
            GroupFingerprint = 99,
            MaxPendingHandshakes = 4,
            HelloTimeout = TimeSpan.FromSeconds(2),
        };
        var received = new Handler();
        await using var member = TcpTransport.Listen(options, received, log.CreateLogger("member"));

        var silent = new List<Socket>();
        for (var i = 0; i < 4; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(endpoints[0]);
            silent.Add(socket);
        }
        await Task.Delay(300); // the member accepted all four and waits for their hellos

        // One more is over the cap: closed at once, well before the hello deadline.
        using (var extra = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await extra.ConnectAsync(endpoints[0]);
            var started = DateTime.UtcNow;
            Assert.Equal(0, await ReceiveOrClosed(extra, TimeSpan.FromSeconds(10)));
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(1.5), "the connection over the cap should be closed at once");
        }
        Assert.True(log.Contains(LogLevel.Warning, "are still in their handshake"));

        // The silent four are dropped at the deadline, each with its reason.
        foreach (var socket in silent) Assert.Equal(0, await ReceiveOrClosed(socket, TimeSpan.FromSeconds(10)));
        await Eventually.True(() => log.Entries.Count(e => e.Message.Contains("not finished within the hello deadline of 2s", StringComparison.Ordinal)) == 4, "four timed-out hellos logged");

        // A real peer now connects, says hello and is welcomed.
        await using var peer = TcpTransport.Listen(options with { LocalId = 1 }, new Handler(), log.CreateLogger("peer"));
        peer.AddPeer(0, endpoints[0]);
        peer.Send(0, [1, 2, 3]);
        peer.Flush();
        await Eventually.True(() => received.Messages.Contains((1, 3)), "the peer's message to arrive");
        foreach (var socket in silent) socket.Dispose();
    }

    [Fact]
    public async Task A_peer_that_trickles_its_hello_is_dropped_at_the_deadline_not_at_each_read_timeout()
    {
        var ports = Ports.Free(1);
        var endpoints = new Dictionary<int, IPEndPoint> { [0] = new(IPAddress.Loopback, ports[0]) };
        var log = new CapturingLoggerProvider();
        await using var member = TcpTransport.Listen(new TcpTransportOptions { LocalId = 0, Endpoints = endpoints, GroupFingerprint = 99, HelloTimeout = TimeSpan.FromSeconds(2) },
            new Handler(), log.CreateLogger("member"));
        using var trickle = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await trickle.ConnectAsync(endpoints[0]);
        var hello = RawFrames.HelloFrom(memberId: 1, fingerprint: 99);
        var started = DateTime.UtcNow;
        var dropped = false;
        for (var i = 0; i < hello.Length - 1 && !dropped; i++) // one byte a second: each read is well within the per-read timeout
        {
            try { await trickle.SendAsync(hello.AsMemory(i, 1)); }
            catch (SocketException) { dropped = true; }
            await Task.Delay(1000);
            dropped |= trickle.Poll(0, SelectMode.SelectRead) && trickle.Available == 0;
        }
        Assert.True(dropped, "the trickling peer should have been dropped");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(6), $"dropped after {(DateTime.UtcNow - started).TotalSeconds:0.0}s; the deadline is 2s");
        await Eventually.True(() => log.Contains(LogLevel.Warning, "not finished within the hello deadline of 2s"), "the deadline to be logged");
    }

    private static async Task<int> ReceiveOrClosed(Socket socket, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try { return await socket.ReceiveAsync(new byte[16], SocketFlags.None, cancel.Token); }
        catch (SocketException) { return 0; }
    }

    private sealed class Handler : ITransportHandler
    {
        public System.Collections.Concurrent.ConcurrentBag<(int Peer, int Length)> Messages { get; } = new();
        public void OnWritesApplied(int peerId) { }
        public void OnMessage(int peerId, ReadOnlySpan<byte> message) => Messages.Add((peerId, message.Length));
        public void OnPeerDisconnected(int peerId, string reason) { }
    }
}
