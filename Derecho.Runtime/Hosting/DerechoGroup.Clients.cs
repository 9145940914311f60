using System.Collections.Concurrent;
using Derecho.Membership;
using Derecho.Rpc;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Hosting;

/// <summary>External clients: they say hello, get the view (and every later one), make P2P calls directly and have ordered calls relayed.</summary>
public sealed partial class DerechoGroup
{
    private readonly ConcurrentDictionary<int, bool> _clients = new();

    private void OnClientMessage(int peer, ReadOnlySpan<byte> message)
    {
        switch ((MessageKind)message[0])
        {
            case MessageKind.ClientHello when JoinMessages.TryReadPair(message, out var id, out var endpoint) && id == peer:
                if (Volatile.Read(ref _current) is null) return;
                _transport.AddPeer(id, PackedEndpoint.Unpack(endpoint));
                if (_clients.TryAdd(id, true)) _logger.LogInformation("Member {Id} serves client {Client}", MyId, id);
                _transport.Send(id, ViewInfoMessage());
                _transport.Flush();
                break;
            case MessageKind.Relay when (_clients.ContainsKey(peer) || Volatile.Read(ref _current)?.View.RankOf(peer) >= 0)
                                              && RpcHeaders.TryReadRelayHeader(message, out var typeId, out var shard, out var methodId, out var clientRequest):
                if (ClientMessages.TooLargeToRelay(message.Length, _multicastOptions.MaxPayloadBytes) is { } error)
                {
                    // Refused before it reaches the multicast: the caller gets a clear error, the group is unaffected.
                    _transport.Send(peer, ClientMessages.RelayResult(clientRequest, [new RawReply(MyId, ReplyStatus.MalformedRequest, System.Text.Encoding.UTF8.GetBytes(error))]));
                    _transport.Flush();
                    break;
                }
                // Into the ring, or queued behind a full ring or a view change: the reader thread never waits.
                Relay(peer, typeId, shard, methodId, clientRequest, message[RpcHeaders.RelayHeaderSize..]);
                break;
            case MessageKind.RelayResult when ClientMessages.TryReadRelayResult(message, out var request, out var replies):
                _engine.OnRelayResult(request, replies);
                break;
            default:
                _logger.LogWarning("Malformed or unexpected client message (kind {Kind}, {Length} bytes) from {Peer} ignored", message[0], message.Length, peer);
                break;
        }
    }

    private void Relay(int client, uint typeId, int shard, uint methodId, long clientRequest, ReadOnlySpan<byte> arguments)
    {
        var request = RequestBuffers.Rent(RpcHeaders.OrderedHeaderSize);
        try
        {
            arguments.CopyTo(request.GetSpan(arguments.Length));
            request.Advance(arguments.Length);
            _engine.InvokeRelay(typeId, shard, methodId, request, replies =>
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
        var current = Volatile.Read(ref _current);
        var view = current.View;
        return ClientMessages.ViewInfo(view.Id, view.Members.Select(id => (id, PackedEndpoint.Pack(_endpoints[id]))).ToList(), current.Layout);
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
