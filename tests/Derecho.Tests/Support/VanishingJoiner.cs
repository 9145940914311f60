using System.Net;
using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging.Abstractions;

namespace Derecho.Tests.Support;

/// <summary>
/// A process that asks to join over the real transport (hello, group fingerprint, join request), then never
/// acknowledges the view proposed to it: it only counts proposals, or it goes away altogether.
/// </summary>
internal sealed class VanishingJoiner : ITransportHandler, IAsyncDisposable
{
    private readonly int _id;
    private readonly IPEndPoint _endpoint;
    private readonly TcpTransport _transport;
    private int _proposals;

    public VanishingJoiner(int id, DerechoOptions groupOptions)
    {
        _id = id;
        _endpoint = new IPEndPoint(IPAddress.Loopback, Ports.Free(1)[0]);
        _transport = TcpTransport.Listen(new TcpTransportOptions
        {
            LocalId = id,
            Endpoints = new Dictionary<int, IPEndPoint> { [id] = _endpoint },
            GroupFingerprint = GroupFingerprint.Of(groupOptions.GroupName, groupOptions.RingBytes, groupOptions.MaxPayloadBytes),
        }, this, NullLogger.Instance);
    }

    /// <summary>Where it listens (a later incarnation of the same member may listen there again).</summary>
    public IPEndPoint Endpoint => _endpoint;

    /// <summary>View proposals the group sent it (it got that far in the handshake).</summary>
    public int Proposals => Volatile.Read(ref _proposals);

    /// <summary>Sends one join request to member <paramref name="contact"/>.</summary>
    public void AskToJoin(int contact, IPEndPoint contactEndpoint)
    {
        _transport.AddPeer(contact, contactEndpoint);
        _transport.Send(contact, JoinMessages.JoinRequest(_id, PackedEndpoint.Pack(_endpoint)));
        _transport.Flush();
    }

    public void OnWritesApplied(int peerId) { }

    public void OnMessage(int peerId, ReadOnlySpan<byte> message)
    {
        if (message[0] == (byte)MessageKind.ViewProposal) Interlocked.Increment(ref _proposals);
    }

    public void OnPeerDisconnected(int peerId, string reason) { }

    /// <summary>Goes away: closes its listener and connections.</summary>
    public ValueTask DisposeAsync() => _transport.DisposeAsync();
}
