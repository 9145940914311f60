using System.Collections.Concurrent;
using Derecho.Diagnostics;
using Derecho.Internal;
using Derecho.Layout;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Rpc;

/// <summary>
/// Calls this member made that wait for replies, by request id: ordered calls (every replica of the shard
/// answers), relayed ones (one member answers with every replica's reply) and P2P calls (one member answers).
/// Views decide whom a call waits for; a stopped member fails them all. A call that leaves, answered or
/// failed, records its duration (<see cref="DerechoMetrics.CallDuration"/>), named by <paramref name="nameOf"/>.
/// </summary>
internal sealed class PendingCalls(int myId, Func<uint, string> nameOf, PeerWarnings warnings, ILogger logger)
{
    private readonly ConcurrentDictionary<long, PendingCall> _pending = new();
    private readonly KeyValuePair<string, object?> _memberTag = MetricTags.ForMember(myId);
    private long _nextRequestId = (long)myId << 40;

    /// <summary>A new request id: unique across members (the member id is in the high bits).</summary>
    public long NextRequestId() => Interlocked.Increment(ref _nextRequestId);

    /// <summary>Registers a call before it is sent: a reply may arrive before Send returns.</summary>
    public void Add(long requestId, PendingCall call) => _pending[requestId] = call;

    /// <summary>Forgets a call that could not be sent; true if it was still waiting.</summary>
    public bool Remove(long requestId) => _pending.TryRemove(requestId, out _);

    /// <summary>Takes a finished call out and records how long it took.</summary>
    private bool Finish(long requestId)
    {
        if (!_pending.TryRemove(requestId, out var call)) return false;
        if (call.StartedAt != 0 && call.Kind.Key is not null)
            DerechoMetrics.RecordElapsed(DerechoMetrics.CallDuration, call.StartedAt, call.Kind, _memberTag, new(MetricTags.TypeKey, nameOf(call.TypeId)));
        return true;
    }

    /// <summary>A call went into a view whose shard has <paramref name="members"/>: it waits for their replies.</summary>
    public void Retarget(long requestId, int[] members)
    {
        if (_pending.TryGetValue(requestId, out var call) && call.Retarget(members)) Finish(requestId);
    }

    /// <summary>A reply (from a replica, or this member's own): completes the call once every reply it waits for is in.</summary>
    public void OnReply(int peer, ReadOnlySpan<byte> message)
    {
        if (!RpcHeaders.TryReadReplyHeader(message, out var status, out var memberId, out var requestId) || memberId != peer)
        {
            if (warnings.ShouldLog(peer)) logger.LogWarning("Malformed reply from member {Peer} ignored", peer);
            return;
        }
        if (_pending.TryGetValue(requestId, out var call) && call.OnReply(memberId, status, message[RpcHeaders.ReplyHeaderSize..]))
            Finish(requestId);
    }

    /// <summary>A relaying member answered with every replica's reply; counted only from the member the call was relayed through.</summary>
    public void OnRelayResult(int peer, long requestId, IReadOnlyList<RawReply> replies)
    {
        if (!_pending.TryGetValue(requestId, out var call) || call is not IRelayedCall relayed) return;
        if (relayed.Via != peer)
        {
            if (warnings.ShouldLog(peer))
                logger.LogWarning("Relay result for request {Request} from {Peer} ignored: the call was relayed through member {Via}", requestId, peer, relayed.Via);
            return;
        }
        if (Finish(requestId)) relayed.Complete(replies);
    }

    /// <summary>
    /// A new view is installed: calls cut off by the trim and re-sent now expect the shard's new members; other
    /// calls stop waiting for departed members; P2P calls to departed members fail.
    /// </summary>
    public void OnViewInstalled(int[] members, GroupLayout layout, IReadOnlyCollection<int> departed, IReadOnlyCollection<long> resentRequests)
    {
        foreach (var (id, call) in _pending)
        {
            var shardMembers = call.TypeId != RpcHeaders.TimeBarrierTypeId && layout.Find(call.TypeId) is { } s && call.Shard < s.Shards.Length ? s.Shards[call.Shard] : members;
            if (call.OnViewChange(departed, shardMembers, resentRequests.Contains(id)))
                Finish(id);
        }
    }

    /// <summary>Fails calls that were never applied anywhere and cannot be sent (a view change cut them off, or they can never go in).</summary>
    public void FailUnsent(IEnumerable<long> requests, Exception reason)
    {
        foreach (var id in requests)
            if (_pending.TryRemove(id, out var call)) call.Fail(reason);
    }

    /// <summary>A peer is gone: relayed calls it was multicasting may or may not have been applied.</summary>
    public void OnPeerLost(int peer, string reason)
    {
        foreach (var (id, call) in _pending)
            if (call is IRelayedCall relayed && relayed.Via == peer && _pending.TryRemove(id, out _))
                call.Fail(new RemoteCallException(peer, $"lost the connection before replying ({reason}); the call may or may not have been applied"));
    }

    /// <summary>Fails every call still waiting.</summary>
    public void FailAll(Exception reason)
    {
        foreach (var id in _pending.Keys)
            if (_pending.TryRemove(id, out var call)) call.Fail(reason);
    }
}
