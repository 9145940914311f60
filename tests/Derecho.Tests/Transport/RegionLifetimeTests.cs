using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Derecho.Membership;
using Derecho.Multicast;
using Derecho.Tests.Support;
using Derecho.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Derecho.Tests.Transport;

/// <summary>
/// Memory a view registered with the transport is freed only after the transport has forgotten it: a write
/// arriving later (from a member the next proposal drops) is dropped, never copied into freed memory.
/// </summary>
public class RegionLifetimeTests
{
    private const int Epoch = 5;
    private const ulong Fingerprint = 77;

    [Fact]
    public async Task Writes_for_a_superseded_prepared_view_are_dropped_after_it_is_disposed()
    {
        var ports = Ports.Free(2);
        var endpoints = new Dictionary<int, IPEndPoint> { [0] = new(IPAddress.Loopback, ports[0]), [1] = new(IPAddress.Loopback, ports[1]) };
        var handler = new Handler();
        await using var transport = TcpTransport.Listen(new TcpTransportOptions { LocalId = 0, Endpoints = endpoints, GroupFingerprint = Fingerprint },
            handler, NullLogger.Instance);
        var prepared = new ActiveView(new View(Epoch, [0, 1]), 0, transport, new MulticastOptions { RingBytes = 64 << 10, MaxPayloadBytes = 256 },
            new NoDeliveries(), proposalId: 1, wake: () => { });
        Assert.True(Registered(transport, RegionKind.SstRow));
        Assert.True(Registered(transport, RegionKind.MulticastRing));

        prepared.Dispose(); // superseded by a proposal without member 1

        Assert.False(Registered(transport, RegionKind.SstRow), "the SST row of a disposed view is still a write target");
        Assert.False(Registered(transport, RegionKind.MulticastRing), "the ring of a disposed view is still a write target");
        using var late = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await late.ConnectAsync(endpoints[0]);
        await late.SendAsync(RawFrames.HelloFrom(memberId: 1, Fingerprint));
        await late.SendAsync(RawFrames.WriteTo((byte)RegionKind.SstRow, Epoch, 0, new byte[64]));
        await late.SendAsync(RawFrames.WriteTo((byte)RegionKind.MulticastRing, Epoch, 0, new byte[4096]));
        await late.SendAsync(RawFrames.MessageOf([42])); // frames are handled in order: once this arrives, both writes were
        await Eventually.True(() => !handler.Messages.IsEmpty || !handler.Disconnects.IsEmpty, "the message after the writes");

        Assert.Empty(handler.Disconnects);
        Assert.Equal(2, transport.DroppedWrites);
    }

    private static bool Registered(TcpTransport transport, RegionKind kind)
    {
        if (transport.AcquireRegion(1, kind, Epoch, out _) is null) return false;
        transport.ReleaseRegion();
        return true;
    }

    private sealed class NoDeliveries : IDeliveryHandler
    {
        public void Deliver(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload) => throw new InvalidOperationException("nothing is delivered");
    }

    private sealed class Handler : ITransportHandler
    {
        public ConcurrentQueue<byte[]> Messages { get; } = new();

        public ConcurrentQueue<(int Peer, string Reason)> Disconnects { get; } = new();

        public void OnWritesApplied(int peerId) { }

        public void OnMessage(int peerId, ReadOnlySpan<byte> message) => Messages.Enqueue(message.ToArray());

        public void OnPeerDisconnected(int peerId, string reason) => Disconnects.Enqueue((peerId, reason));
    }
}
