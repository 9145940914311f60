using System.Collections.Concurrent;
using Derecho.Client;
using Derecho.Internal;
using Derecho.Membership;
using Derecho.Replication;
using Derecho.Rpc;
using Derecho.Security;
using Derecho.Sst;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Hosting;

/// <summary>
/// The transport's handler for a member: each two-sided message goes to the part of the member its kind
/// belongs to (calls, clients, joins, state transfer, restart); a lost connection is a suspected failure,
/// unless it was a client's or this member is leaving.
/// </summary>
internal sealed class MessageRouter(ViewSlot views, MemberEndpoints endpoints, TcpTransport transport, PredicateLoop loop,
    ReplicaStore replicas, PendingCalls calls, RpcEngine engine, StateTransfer states, JoinCoordinator joins, ClientGateway clients,
    LeaveBarrier leave, Func<bool> closed, ConcurrentQueue<(int, string)> failureReports, PeerWarnings warnings, ILogger logger) : ITransportHandler
{
    private volatile RestartHandshake? _restart;

    /// <summary>The handshake of this member's own start while it runs (restart messages go to it), or null.</summary>
    public RestartHandshake? Restart
    {
        get => _restart;
        set => _restart = value;
    }

    public void OnWritesApplied(int peerId) => loop.Wake();

    public void OnMessage(int peerId, ReadOnlySpan<byte> message)
    {
        if (PeerIds.IsClient(peerId) && (message.IsEmpty || !clients.Admit(peerId, message))) return;
        switch (message.IsEmpty ? MessageFamily.Unknown : MessageKinds.FamilyOf(message[0]))
        {
            case MessageFamily.Client:
                clients.OnMessage(peerId, message);
                break;
            case MessageFamily.Restart:
                OnRestartMessage(peerId, message);
                break;
            case MessageFamily.StateTransfer:
                OnStateTransferMessage(peerId, message);
                break;
            case MessageFamily.Membership when message[0] == (byte)MessageKind.ShardStateUnavailable:
                OnStateUnavailable(peerId, message);
                break;
            case MessageFamily.Membership:
                joins.OnMessage(peerId, message);
                break;
            default: // calls and replies; the engine logs what is no kind at all
                engine.OnMessage(peerId, message);
                break;
        }
    }

    public void OnPeerDisconnected(int peerId, string reason)
    {
        warnings.Forget(peerId);
        _restart?.OnPeerFailed(peerId, reason);
        calls.OnPeerLost(peerId, reason);
        engine.OnPeerLost(peerId, reason);
        if (clients.Forget(peerId) || leave.Requested || closed() || views.Current is null) return;
        failureReports.Enqueue((peerId, $"connection lost: {reason}"));
        loop.Wake();
    }

    /// <summary>State transfer: requests go to the sender; records and parts to the protocol thread, in order.</summary>
    private void OnStateTransferMessage(int peer, ReadOnlySpan<byte> message)
    {
        switch ((MessageKind)message[0])
        {
            case MessageKind.ShardStateRequest when StateTransferMessages.TryDecode<ShardStateRequest>(message) is { } request:
                states.OnRequest(peer, request);
                break;
            case MessageKind.ShardStateTail when StateTransferMessages.TryDecodeTail(message) is { } tail:
                states.OnArrived(peer, tail.TypeId, tail.Shard, tail.ViewId, tail);
                break;
            case MessageKind.ShardStatePart when StateTransferMessages.TryDecodePart(message) is { } part:
                states.OnArrived(peer, part.TypeId, part.Shard, part.ViewId, part);
                break;
            default:
                if (warnings.ShouldLog(peer)) logger.LogWarning("Malformed state transfer message (kind {Kind}, {Length} bytes) from member {Peer} ignored", message[0], message.Length, peer);
                break;
        }
    }

    private void OnStateUnavailable(int peer, ReadOnlySpan<byte> message)
    {
        if (StateTransferMessages.TryReadShardStateUnavailable(message, out var typeId, out var shard, out var viewId, out var why))
            states.OnArrived(peer, typeId, shard, viewId, System.Text.Encoding.UTF8.GetString(why));
        else if (warnings.ShouldLog(peer))
            logger.LogWarning("Malformed membership message (kind {Kind}, {Length} bytes) from member {Peer} ignored", message[0], message.Length, peer);
    }

    /// <summary>
    /// Restart traffic. A log tail is served at any time; a member that reports for a restart while this one
    /// runs (its start complete) is told to join; everything else belongs to this member's own start.
    /// </summary>
    private void OnRestartMessage(int peer, ReadOnlySpan<byte> message)
    {
        if (message[0] == (byte)MessageKind.LogTailRequest)
        {
            if (RestartMessages.TryDecode<LogTailRequest>(message) is { } request) RestartHandshake.Serve(transport, replicas, logger, peer, request);
            return;
        }
        // Only once our own start is over: until then a member still reporting may be in the view being started
        // (the leader's decision is on its way to it), and telling it to join would leave that view a member short.
        if (message[0] == (byte)MessageKind.RestartHello && views.Current is { } running && _restart is null && !closed())
        {
            var members = running.View.Members;
            try
            {
                transport.Send(peer, RestartMessages.Encode(MessageKind.RestartRejoin, new RestartRejoin(running.View.Id, members.ToArray(),
                    members.Select(endpoints.Packed).ToArray(), $"the group is running in view {running.View.Id} ({string.Join(", ", members)})")));
                transport.Flush();
            }
            catch (InvalidOperationException) { } // not a peer we can answer yet: it says hello again
            return;
        }
        _restart?.OnMessage(peer, message);
    }
}
