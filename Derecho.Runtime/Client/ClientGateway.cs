using System.Collections.Concurrent;
using System.Diagnostics;
using Derecho.Diagnostics;
using Derecho.Internal;
using Derecho.Membership;
using Derecho.Rpc;
using Derecho.Security;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Client;

/// <summary>
/// A member's side of external clients: they say hello and get the view (and every later one), make P2P
/// calls directly and have ordered calls relayed: this member multicasts them and answers with every
/// replica's reply. Clients are not members: one that goes away is forgotten, with no view change.
/// </summary>
internal sealed class ClientGateway(int myId, ViewSlot views, MemberEndpoints endpoints, TcpTransport transport, RpcEngine engine, Replication.TriggerWorker triggers, PendingCalls calls,
    int maxPayloadBytes, ClientAccess access, Func<uint, string> nameOf, PeerWarnings warnings, ILogger logger, NotificationServer notifications)
{
    private readonly ConcurrentDictionary<int, bool> _clients = new();
    private readonly KeyValuePair<string, object?> _memberTag = MetricTags.ForMember(myId);

    /// <summary>Answers status requests (set by the member at construction); while null they are dropped.</summary>
    public StatusResponder? Status { get; set; }

    /// <summary>
    /// Whether a message from client <paramref name="peer"/> may go on. A client may say hello, have calls relayed,
    /// make P2P calls and subscribe to notifications, on the types it is authorized for, and read the status if authorized for it; never membership, state,
    /// restart or SST traffic. A call it may not make is answered with the reason (nothing applied); so is a subscription.
    /// </summary>
    public bool Admit(int peer, ReadOnlySpan<byte> message)
    {
        switch ((MessageKind)message[0])
        {
            case MessageKind.ClientHello:
                return true;
            case MessageKind.Relay when RpcHeaders.TryReadRelayHeader(message, out var typeId, out _, out _, out var request):
                if (access.Refusal(transport.IdentityOf(peer), nameOf(typeId)) is not { } refused) return true;
                Answer(peer, ClientMessages.RelayResult(request, [new RawReply(myId, ReplyStatus.Unauthorized, System.Text.Encoding.UTF8.GetBytes(refused))]));
                return false;
            case MessageKind.P2PRequest when RpcHeaders.TryReadP2PHeader(message, out var typeId, out _, out _, out var request):
                if (access.Refusal(transport.IdentityOf(peer), nameOf(typeId)) is not { } denied) return true;
                var reply = new byte[RpcHeaders.ReplyHeaderSize + System.Text.Encoding.UTF8.GetByteCount(denied)];
                RpcHeaders.WriteReplyHeader(reply, ReplyStatus.Unauthorized, myId, request);
                System.Text.Encoding.UTF8.GetBytes(denied, reply.AsSpan(RpcHeaders.ReplyHeaderSize));
                Answer(peer, reply);
                return false;
            case MessageKind.TriggerBatch:
                if (TriggerRefusal(peer, message) is not { } unauthorized) return true;
                TriggerMessages.TryReadBatch(message, out var batch, out _);
                Answer(peer, TriggerMessages.Ack(batch, ReplyStatus.Unauthorized, 0, unauthorized));
                return false;
            case MessageKind.Subscribe when NotificationMessages.TryReadSubscribe(message, out var subscription, out var typeId, out _, out _, out _, out _):
                if (access.Refusal(transport.IdentityOf(peer), nameOf(typeId)) is not { } forbidden) return true;
                Answer(peer, NotificationMessages.Ended(subscription, SubscriptionEnd.Unauthorized, myId, forbidden));
                return false;
            case MessageKind.StatusRequest:
                if (access.StatusRefusal(transport.IdentityOf(peer)) is not { } notAllowed) return true;
                // A request too short to name its id has no one to answer; it is dropped like any malformed one.
                StatusMessages.TryReadRequest(message, out var query, out _);
                if (message.Length >= StatusMessages.RequestSize) Answer(peer, StatusMessages.Refusal(myId, query, notAllowed, StatusReplyKind.Unauthorized));
                return false;
            case MessageKind.Unsubscribe:
                return true;
            default:
                if (warnings.ShouldLog(peer))
                    logger.LogWarning("Member {Id}: client {Client} sent a message of kind {Kind} ({Length} bytes), which clients may not send; ignored",
                        myId, peer, message[0], message.Length);
                return false;
        }
    }

    public void OnMessage(int peer, ReadOnlySpan<byte> message)
    {
        switch ((MessageKind)message[0])
        {
            case MessageKind.ClientHello when JoinMessages.TryReadPair(message, out var id, out var endpoint) && id == peer:
                if (views.Current is null) return;
                transport.AddPeer(id, PackedEndpoint.Unpack(endpoint));
                if (_clients.TryAdd(id, true))
                {
                    logger.LogInformation("Member {Id} serves client {Client}", myId, id);
                    DerechoMetrics.ClientConnections.Add(1, _memberTag);
                }
                transport.Send(id, ViewInfoMessage());
                transport.Flush();
                break;
            case MessageKind.Relay when (_clients.ContainsKey(peer) || views.Current?.View.RankOf(peer) >= 0)
                                              && RpcHeaders.TryReadRelayHeader(message, out var typeId, out var shard, out var methodId, out var clientRequest):
                if (!RpcHeaders.TryReadRelaySession(message, out var sequence, out var floor, out var argumentsAt))
                {
                    Answer(peer, ClientMessages.RelayResult(clientRequest, [new RawReply(myId, ReplyStatus.MalformedRequest,
                        System.Text.Encoding.UTF8.GetBytes("the relay header's session part is malformed (unknown flags, cut short, or a floor above the sequence)"))]));
                    break;
                }
                var end = RpcHeaders.WithoutTraceContext(message, argumentsAt, out var caller);
                if (end < 0)
                {
                    Answer(peer, ClientMessages.RelayResult(clientRequest, [new RawReply(myId, ReplyStatus.MalformedRequest,
                        System.Text.Encoding.UTF8.GetBytes("the relay is flagged traced but too short for its trace context"))]));
                    break;
                }
                // A member relaying for another member outside the shard has no session: its calls end with it.
                ClientSession? session = sequence >= 0 && _clients.ContainsKey(peer) ? new ClientSession(peer, sequence, floor) : null;
                if (ClientMessages.TooLargeToRelay(end - argumentsAt, session is not null, maxPayloadBytes) is { } error)
                {
                    // Refused before it reaches the multicast: the caller gets a clear error, the group is unaffected.
                    Answer(peer, ClientMessages.RelayResult(clientRequest, [new RawReply(myId, ReplyStatus.MalformedRequest, System.Text.Encoding.UTF8.GetBytes(error))]));
                    break;
                }
                // Into the ring, or queued behind a full ring or a view change: the reader thread never waits.
                Relay(peer, typeId, shard, methodId, clientRequest, session, message[argumentsAt..end], caller);
                break;
            case MessageKind.TriggerBatch when _clients.ContainsKey(peer) || views.Current?.View.RankOf(peer) >= 0:
                // Queued for the handlers (or refused whole) and acknowledged: the reader thread never waits for a handler.
                triggers.AcceptAndAcknowledge(peer, message);
                break;
            case MessageKind.TriggerAck:
                engine.OnTriggerAck(peer, message);
                break;
            case MessageKind.RelayResult when ClientMessages.TryReadRelayResult(message, out var request, out var replies):
                calls.OnRelayResult(peer, request, replies);
                break;
            case MessageKind.Subscribe when _clients.ContainsKey(peer)
                                           && NotificationMessages.TryReadSubscribe(message, out var subscription, out var typeId, out var shard, out var afterVersion, out var afterIndex, out var topic):
                notifications.Subscribe(peer, subscription, typeId, shard, afterVersion, afterIndex, topic);
                break;
            case MessageKind.Unsubscribe when NotificationMessages.TryReadUnsubscribe(message, out var subscription):
                notifications.Unsubscribe(peer, subscription);
                break;
            case MessageKind.StatusRequest:
                string? dropped = "this member serves no status yet";
                if (Status?.Answer(message, out dropped) is { } statusReply) Answer(peer, statusReply);
                else if (warnings.ShouldLog(peer)) logger.LogWarning("Member {Id}: status request from {Peer} dropped: {Problem}", myId, peer, dropped);
                break;
            default:
                if (warnings.ShouldLog(peer)) logger.LogWarning("Malformed or unexpected client message (kind {Kind}, {Length} bytes) from {Peer} ignored", message[0], message.Length, peer);
                break;
        }
    }

    /// <summary>Why a client may not send a trigger batch: the first type among its events it is not authorized for; null if it may (or the batch is malformed, refused later).</summary>
    private string? TriggerRefusal(int peer, ReadOnlySpan<byte> message)
    {
        if (!TriggerMessages.TryReadBatch(message, out _, out var events)) return null;
        var identity = transport.IdentityOf(peer);
        uint checkedType = 0;
        foreach (var e in events)
        {
            if (e.TypeId == checkedType) continue;
            if (access.Refusal(identity, nameOf(e.TypeId)) is { } refused) return refused;
            checkedType = e.TypeId;
        }
        return null;
    }

    /// <summary>Answers a client if it is a peer (it said its ClientHello); one that skipped it gets nothing.</summary>
    private void Answer(int client, byte[] message)
    {
        try
        {
            transport.Send(client, message);
            transport.Flush();
        }
        catch (InvalidOperationException) { } // not a peer: no one to answer
    }

    /// <summary>Tells every client about a new view.</summary>
    public void PushView()
    {
        notifications.OnViewInstalled(views.Installed.View.Id);
        if (_clients.IsEmpty) return;
        var info = ViewInfoMessage();
        foreach (var client in _clients.Keys) transport.Send(client, info);
        transport.Flush();
    }

    /// <summary>A peer went away: if it was a client, forget it and say so (clients are not members, so no view change).</summary>
    public bool Forget(int peerId)
    {
        if (!_clients.TryRemove(peerId, out _)) return false;
        notifications.Forget(peerId);
        DerechoMetrics.ClientConnections.Add(-1, _memberTag);
        transport.ForgetPeer(peerId);
        return true;
    }

    /// <summary>
    /// Multicasts a relayed call and answers with its replies. A listener gets a span of it (a child of the caller's, when the
    /// relay carried a trace context), from here until the replies are in; its multicast then carries the trace (a trace envelope).
    /// </summary>
    private void Relay(int client, uint typeId, int shard, uint methodId, long clientRequest, ClientSession? session, ReadOnlySpan<byte> arguments, ActivityContext caller)
    {
        var span = DerechoTracing.Start("derecho.relay", ActivityKind.Server, caller);
        if (span is not null) DerechoTracing.TagCall(span, myId, typeId, shard, methodId);
        var traced = span is not null && ClientMessages.TooLargeToRelay(arguments.Length + RpcHeaders.TraceEnvelopeSize, session is not null, maxPayloadBytes) is null;
        var request = RequestBuffers.Rent(RpcHeaders.OrderedHeaderSize + (session is null ? 0 : RpcHeaders.SessionEnvelopeSize) + (traced ? RpcHeaders.TraceEnvelopeSize : 0));
        try
        {
            arguments.CopyTo(request.GetSpan(arguments.Length));
            request.Advance(arguments.Length);
            engine.InvokeRelay(typeId, shard, methodId, request, session, replies =>
            {
                transport.Send(client, ClientMessages.RelayResult(clientRequest, replies));
                transport.Flush();
                if (span is not null) DerechoTracing.Stop(span);
            }, traced ? span : null);
        }
        finally
        {
            RequestBuffers.Return(request);
        }
    }

    private byte[] ViewInfoMessage()
    {
        var current = views.Installed;
        return ClientMessages.ViewInfo(current.View.Id, endpoints.Of(current.View.Members), current.Layout);
    }
}
