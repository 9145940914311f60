using System.Collections.Concurrent;
using Derecho.Client;
using Derecho.Membership;
using Derecho.Rpc;
using Microsoft.Extensions.Logging;

namespace Derecho.Hosting;

/// <summary>External clients: they say hello, get the view (and every later one), make P2P calls directly and have ordered calls relayed.</summary>
public sealed partial class DerechoGroup
{
    private readonly ConcurrentDictionary<int, bool> _clients = new();

    private void OnClientMessage(int peer, ReadOnlySpan<byte> message)
    {
        switch ((ClientMessageKind)message[0])
        {
            case ClientMessageKind.Hello when MembershipMessages.TryReadPair(message, out var id, out var endpoint) && id == peer:
                if (Volatile.Read(ref _current) is null) return;
                _transport.AddPeer(id, PackedEndpoint.Unpack(endpoint));
                if (_clients.TryAdd(id, true)) _logger.LogInformation("Member {Id} serves client {Client}", MyId, id);
                _transport.Send(id, ViewInfoMessage());
                _transport.Flush();
                break;
            case ClientMessageKind.Relay when _clients.ContainsKey(peer) && ClientMessages.TryReadRelayHeader(message, out var typeId, out var methodId, out var clientRequest):
                // Off the transport's reader thread: multicasting can wait for ring space or a view change.
                var arguments = message[ClientMessages.RelayHeaderSize..].ToArray();
                ThreadPool.QueueUserWorkItem(_ => Relay(peer, typeId, methodId, clientRequest, arguments));
                break;
            default:
                _logger.LogWarning("Malformed or unexpected client message (kind {Kind}, {Length} bytes) from {Peer} ignored", message[0], message.Length, peer);
                break;
        }
    }

    private void Relay(int client, uint typeId, uint methodId, long clientRequest, byte[] arguments)
    {
        var request = RequestBuffers.Rent(RpcWire.OrderedHeaderSize);
        try
        {
            arguments.CopyTo(request.GetSpan(arguments.Length));
            request.Advance(arguments.Length);
            _engine.InvokeRelay(typeId, methodId, request, replies =>
            {
                _transport.Send(client, ClientMessages.RelayResult(clientRequest, replies));
                _transport.Flush();
            });
        }
        finally
        {
            RequestBuffers.Return(request);
        }
    }

    private byte[] ViewInfoMessage()
    {
        var view = Volatile.Read(ref _current).View;
        return ClientMessages.ViewInfo(view.Id, view.Members.Select(id => (id, PackedEndpoint.Pack(_endpoints[id]))).ToList());
    }

    /// <summary>Tells every client about a new view.</summary>
    private void PushViewToClients()
    {
        if (_clients.IsEmpty) return;
        var info = ViewInfoMessage();
        foreach (var client in _clients.Keys) _transport.Send(client, info);
        _transport.Flush();
    }

    /// <summary>A client went away: forget it (clients are not members, so no view change).</summary>
    private bool ForgetClient(int peerId)
    {
        if (!_clients.TryRemove(peerId, out _)) return false;
        _transport.ForgetPeer(peerId);
        return true;
    }
}
