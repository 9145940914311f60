using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Derecho.Tests.Support;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Transport;

/// <summary>
/// What strangers and broken peers send: garbage, truncated frames, lies about identity, writes outside a
/// region. Each time the connection is dropped with a logged reason and the member keeps working.
/// </summary>
public class BadInputTests
{
    [Fact]
    public async Task Garbage_and_impostors_on_a_member_port_are_dropped_and_the_group_keeps_working()
    {
        var log = new CapturingLoggerProvider();
        await using var group = await InProcessGroup.StartAsync(loggers: log);
        var port = group.Ports[0];

        // Random bytes: not our magic.
        await SendAndClose(port, Enumerable.Range(0, 64).Select(i => (byte)(i * 37 + 11)).ToArray());
        await Eventually.True(() => log.Contains(LogLevel.Warning, "bad frame magic"), "garbage to be logged");

        // A hello from another group (wrong fingerprint).
        await SendAndClose(port, RawFrames.HelloFrom(memberId: 7, fingerprint: 12345));
        await Eventually.True(() => log.Contains(LogLevel.Warning, "group fingerprint"), "fingerprint mismatch to be logged");

        // A process of the previous wire version (its P2P, relay and ordered headers differ): refused, saying why.
        await SendAndClose(port, RawFrames.HelloFrom(memberId: 7, fingerprint: GroupFingerprint.Of(InProcessGroup.Options(0, group.Ports).GroupName,
            InProcessGroup.Options(0, group.Ports).RingBytes, InProcessGroup.Options(0, group.Ports).MaxPayloadBytes), version: 2));
        await Eventually.True(() => log.Contains(LogLevel.Warning, "protocol version 2, expected 3"), "the old version to be refused");

        // A truncated hello.
        await SendAndClose(port, RawFrames.HelloFrom(memberId: 1, fingerprint: 0)[..20]);
        await Eventually.True(() => log.Contains(LogLevel.Warning, "truncated hello"), "truncated hello to be logged");

        // The real members were not disturbed.
        var results = await group.Members[0].Subgroup<Register>().Ordered.Set(5);
        Assert.Equal(3, results.Count);
        Assert.DoesNotContain(group.Members, m => m.Failed.IsCompleted);
    }

    [Fact]
    public async Task A_peer_that_says_hello_and_then_lies_is_ignored_and_the_group_keeps_working()
    {
        var log = new CapturingLoggerProvider();
        await using var group = await InProcessGroup.StartAsync(loggers: log);
        var options = InProcessGroup.Options(0, group.Ports);
        var fingerprint = GroupFingerprint.Of(options.GroupName, options.RingBytes, options.MaxPayloadBytes);

        using var liar = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await liar.ConnectAsync(IPAddress.Loopback, group.Ports[0]);
        await liar.SendAsync(RawFrames.HelloFrom(memberId: 4242, fingerprint: fingerprint));
        // A relay request too short to hold its header, from a process that never said it is a client.
        await liar.SendAsync(RawFrames.MessageOf([34, 0, 0, 0, 1, 2]));
        await Eventually.True(() => log.Contains(LogLevel.Warning, "Malformed or unexpected client message (kind 34, 6 bytes) from 4242"), "the bad relay to be logged");
        // A shard's state from a process that is nobody's state sender, for a view that exists.
        var state = new byte[40];
        state[0] = 20;
        await liar.SendAsync(RawFrames.MessageOf(state));
        // A P2P request whose arguments are garbage, and one for a type the group does not host.
        var p2p = new byte[40];
        p2p[0] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(p2p.AsSpan(4), TypeIdOf<Register>());
        BinaryPrimitives.WriteUInt32LittleEndian(p2p.AsSpan(8), 0xFFFF_FFFF);
        await liar.SendAsync(RawFrames.MessageOf(p2p));
        BinaryPrimitives.WriteUInt32LittleEndian(p2p.AsSpan(4), 0xBAD);
        await liar.SendAsync(RawFrames.MessageOf(p2p));
        // A commit and a view proposal for a member that is already in a view.
        var commit = new byte[16];
        commit[0] = 19;
        await liar.SendAsync(RawFrames.MessageOf(commit));
        await Task.Delay(300);

        var results = await group.Members[0].Subgroup<Register>().Ordered.Set(9);
        Assert.Equal([0, 1, 2], results.Select(r => r.MemberId));
        Assert.Equal(9, await group.Members[1].Subgroup<Register>().On(0).Get());
        Assert.DoesNotContain(group.Members, m => m.Failed.IsCompleted);
        Assert.All(group.Members, m => Assert.Equal(0, m.View.Id));
    }

    [Fact]
    public async Task A_flood_of_malformed_messages_from_a_stranger_costs_one_warning_and_one_summary()
    {
        var log = new CapturingLoggerProvider();
        await using var group = await InProcessGroup.StartAsync(loggers: log);
        var options = InProcessGroup.Options(0, group.Ports);
        var fingerprint = GroupFingerprint.Of(options.GroupName, options.RingBytes, options.MaxPayloadBytes);

        using (var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await stranger.ConnectAsync(IPAddress.Loopback, group.Ports[0]);
            await stranger.SendAsync(RawFrames.HelloFrom(memberId: 4242, fingerprint: fingerprint));
            // Every family, each read on the stranger's connection thread: no kind at all, a short reply, a short
            // relay, a truncated state part, a short view proposal, a short ShardStateUnavailable.
            byte[][] malformed = [[200], [2, 0], [34, 0, 0, 0, 1, 2], [31, 1], [17, 0], [22, 0]];
            for (var i = 0; i < 48; i++) await stranger.SendAsync(RawFrames.MessageOf(malformed[i % malformed.Length]));
            stranger.Shutdown(SocketShutdown.Send);
            await Eventually.True(() => log.Contains(LogLevel.Warning, "47 more warning(s) about messages from peer 4242"), "the suppressed warnings to be summed up");
        }

        var aboutStranger = log.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains("4242", StringComparison.Ordinal)).Select(e => e.Message).ToList();
        Assert.Equal(2, aboutStranger.Count);
        Assert.Contains("RPC message of unknown kind 200 from member 4242 ignored", aboutStranger[0], StringComparison.Ordinal);
        var results = await group.Members[0].Subgroup<Register>().Ordered.Set(7);
        Assert.Equal([0, 1, 2], results.Select(r => r.MemberId));
        Assert.DoesNotContain(group.Members, m => m.Failed.IsCompleted);
    }

    [Theory]
    [InlineData("truncated", "truncated write frame")]
    [InlineData("overrun", "overruns region")]
    [InlineData("type", "unknown frame type 99")]
    [InlineData("region", "write to unknown region 9")]
    [InlineData("oversized message", "exceeds the limit")]
    public async Task Broken_frames_from_a_peer_drop_its_connection_with_the_reason(string breakage, string reason)
    {
        var ports = Ports.Free(2);
        var endpoints = new Dictionary<int, IPEndPoint> { [0] = new(IPAddress.Loopback, ports[0]), [1] = new(IPAddress.Loopback, ports[1]) };
        var log = new CapturingLoggerProvider();
        var handler = new RecordingHandler();
        await using var transport = TcpTransport.Listen(new TcpTransportOptions { LocalId = 0, Endpoints = endpoints, GroupFingerprint = 99, MaxMessageBytes = 1000 },
            handler, log.CreateLogger("test"));
        using var region = new NativeRegion(256);
        transport.RegisterInbound(1, RegionKind.MulticastRing, 0, region, 0, 256, wordAtomic: false);

        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(endpoints[0]);
        await peer.SendAsync(RawFrames.HelloFrom(memberId: 1, fingerprint: 99));
        var frame = breakage switch
        {
            "truncated" => RawFrames.Frame(2, 1, 200, 0, new byte[10]),
            "overrun" => RawFrames.Frame(2, 1, 100, 200, new byte[100]),
            "type" => RawFrames.Frame(99, 0, 0, 0, []),
            "region" => RawFrames.Frame(2, 9, 8, 0, new byte[8]),
            _ => RawFrames.Frame(3, 0, 5000, 0, []),
        };
        await peer.SendAsync(frame);
        peer.Shutdown(SocketShutdown.Send);

        await Eventually.True(() => handler.Disconnects.Any(d => d.Reason.Contains(reason)), $"disconnect reason '{reason}'");
        Assert.True(log.Contains(LogLevel.Warning, reason), "the reason is logged");
        Assert.Equal(1, handler.Disconnects.Single().Peer);
    }

    private static async Task SendAndClose(int port, byte[] bytes)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        await client.GetStream().WriteAsync(bytes);
        client.Client.Shutdown(SocketShutdown.Send);
        await Task.Delay(50);
    }

    private static uint TypeIdOf<T>() where T : Derecho.Rpc.IReplicatedType => T.ReplicatedTypeId;

    private sealed class RecordingHandler : ITransportHandler
    {
        public ConcurrentQueue<(int Peer, string Reason)> Disconnects { get; } = new();

        public void OnWritesApplied(int peerId) { }

        public void OnMessage(int peerId, ReadOnlySpan<byte> message) { }

        public void OnPeerDisconnected(int peerId, string reason) => Disconnects.Enqueue((peerId, reason));
    }
}
