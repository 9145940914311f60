using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Derecho.Diagnostics;
using Derecho.Internal;
using Derecho.Rpc;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Replication;

/// <summary>
/// The replica side of calls: turns each shard's delivered multicasts into handler calls and replies, and P2P
/// requests into handler calls and replies. All handlers, ordered and P2P, run on the protocol thread, so a
/// replica never sees two calls at once and P2P reads observe a state between two ordered updates.
/// </summary>
internal sealed class ReplicaDispatcher(int myId, ReplicaStore replicas, PendingCalls calls, ITransport transport, bool replyWhenPersisted, Action wake, PeerWarnings warnings, ILogger logger) : IP2PRequests, IDisposable
{
    private readonly ConcurrentQueue<(int From, byte[] Buffer, int Length)> _p2pInbox = new();
    private readonly PooledBufferWriter _reply = new();
    private readonly TemporalWaits _temporal = new(wake);

    /// <summary>Sends an ordered time barrier into a shard, for calls at a time an idle shard's frontier has not passed.</summary>
    public Func<uint, int, Task>? SendTimeBarrier
    {
        set => _temporal.SendBarrier = value;
    }

    /// <summary>Returns the reply buffer's pooled memory (after the protocol thread stopped).</summary>
    public void Dispose()
    {
        _reply.Dispose();
        _temporal.Dispose();
    }

    /// <summary>Runs one delivered ordered call of a shard (on the protocol thread) and replies to its sender.</summary>
    public void Deliver(ShardReplica target, int caller, long index, long sequence, long viewId, ReadOnlySpan<byte> payload)
    {
        var inSession = RpcHeaders.TryReadSessionEnvelope(payload, out var session, out var call);
        var traced = RpcHeaders.TryReadTraceEnvelope(call, out var sent, out call);
        if (!RpcHeaders.TryReadOrderedHeader(call, out var typeId, out var methodId, out var requestId, out var senderTicks))
        {
            logger.LogError("Ordered message {Index} from member {Caller} is {Length} bytes, too short for a call header; skipped at every replica", index, caller, payload.Length);
            return;
        }
        // A traced call's delivery here is a span of its trace, a child of the multicast send.
        var span = traced ? DerechoTracing.Start("derecho.deliver", ActivityKind.Consumer, sent) : null;
        if (span is null)
        {
            Deliver(target, caller, index, sequence, viewId, inSession, session, typeId, methodId, requestId, senderTicks, call);
            return;
        }
        try
        {
            DerechoTracing.TagCall(span, myId, typeId, target.Shard, methodId);
            if (span.IsAllDataRequested) span.SetTag("derecho.delivery.index", index);
            Deliver(target, caller, index, sequence, viewId, inSession, session, typeId, methodId, requestId, senderTicks, call);
        }
        finally { DerechoTracing.Stop(span); }
    }

    private void Deliver(ShardReplica target, int caller, long index, long sequence, long viewId, bool inSession, ClientSession session, uint typeId, uint methodId,
        long requestId, long senderTicks, ReadOnlySpan<byte> call)
    {
        var arguments = call[RpcHeaders.OrderedHeaderSize..];
        _reply.Reset();
        _reply.Advance(RpcHeaders.ReplyHeaderSize);
        ReplyStatus status;
        // The agreed time: the sender's clock, forced monotonic in the shard's delivery order, so every replica computes the same.
        if (typeId == RpcHeaders.TimeBarrierTypeId || typeId == target.TypeId) target.Agree(senderTicks);
        if (typeId == RpcHeaders.TimeBarrierTypeId)
        {
            MemoryPack.MemoryPackSerializer.Serialize(_reply, true);
            status = ReplyStatus.Ok;
        }
        else if (typeId != target.TypeId)
            status = WriteError(ReplyStatus.UnknownMethod, $"type id {typeId:X8} sent into a shard of {target.Name}");
        else
        {
            var delivery = new DeliveryInfo(caller, index, sequence, new DateTime(target.AgreedTicks, DateTimeKind.Utc), viewId);
            target.Context.CurrentDelivery = delivery;
            target.DeliveredVersion = delivery.Version;
            target.Delivering(delivery.Version);
            if (inSession && AnsweredBefore(target, caller, session, requestId)) return;
            // A handler that throws changes nothing: its versions, log entries and notifications are dropped at every replica.
            var applied = false;
            OrderedContext.Enter(delivery, target);
            try
            {
                status = Dispatch(ordered: true, target.Replica, target.Name, methodId, arguments);
                applied = status == ReplyStatus.Ok;
            }
            finally { OrderedContext.Exit(applied); }
            if (!applied) target.Context.DiscardDelivery();
            // The outcome goes into the same record as the call's changes: a restart recovers both or neither.
            if (inSession) target.Context.Sessions.Record(session, status, _reply.WrittenSpan[RpcHeaders.ReplyHeaderSize..], delivery);
            // Everything the call changed becomes one record: fields can never be out of step after a crash.
            if (target.Context.CommitDelivery() && replyWhenPersisted)
            {
                // The call created a durable version: answer once it is on disk (the reply waits, pooled, not the thread).
                DeferReply(target, caller, status, requestId);
                return;
            }
        }
        SendReply(caller, status, requestId);
    }

    /// <summary>
    /// A client's call its session already has the outcome of: answered with the original reply (once the record
    /// holding it is on disk), or refused when the outcome was forgotten; either way not applied again.
    /// </summary>
    private bool AnsweredBefore(ShardReplica target, int caller, ClientSession session, long requestId)
    {
        var sessions = target.Context.Sessions;
        switch (sessions.Check(session, out var outcome))
        {
            case ClientSessions.Verdict.Duplicate:
                _reply.Reset();
                _reply.Advance(RpcHeaders.ReplyHeaderSize);
                outcome.Reply.CopyTo(_reply.GetSpan(outcome.Reply.Length));
                _reply.Advance(outcome.Reply.Length);
                if (replyWhenPersisted && !target.IsDurable(outcome.Version))
                {
                    DeferReply(target, caller, outcome.Status, requestId);
                    return true;
                }
                SendReply(caller, outcome.Status, requestId);
                return true;
            case ClientSessions.Verdict.Expired:
                SendReply(caller, WriteError(ReplyStatus.SessionExpired,
                    $"call {session.Sequence} of client {session.Client} was re-sent after its outcome was forgotten (the client's floor is past it); it was not applied again"), requestId);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Holds the reply in the buffer (pooled) until everything the replica's log holds now is on disk; sent by <see cref="DurableRepliesStep"/>.</summary>
    private void DeferReply(ShardReplica target, int caller, ReplyStatus status, long requestId)
    {
        RpcHeaders.WriteReplyHeader(_reply.WrittenSpanMutable, status, myId, requestId);
        var copy = ArrayPool<byte>.Shared.Rent(_reply.WrittenCount);
        _reply.WrittenSpan.CopyTo(copy);
        target.DeferredReplies.Enqueue(new DeferredReply(target.Context.Log!.LastVersion, caller, copy, _reply.WrittenCount));
    }

    /// <summary>A trimmed call this replica cannot apply (it lacks the shard's state): tell the caller not to wait for it.</summary>
    public void Skip(ShardReplica target, int caller, ReadOnlySpan<byte> payload)
    {
        if (!RpcHeaders.TryReadOrderedHeader(RpcHeaders.WithoutEnvelopes(payload), out _, out _, out var requestId, out _)) return;
        SendReply(caller, WriteError(ReplyStatus.NotApplied, $"member {myId} was loading the state of shard {target.Shard} of {target.Name}"), requestId);
    }

    /// <summary>The protocol-thread step that sends replies whose versions reached the disk.</summary>
    public bool DurableRepliesStep()
    {
        var progress = false;
        foreach (var replica in replicas.All)
        {
            var deferred = replica.DeferredReplies;
            if (deferred.Count == 0) continue;
            while (deferred.TryPeek(out var reply) && replica.IsDurable(reply.Version))
            {
                deferred.Dequeue();
                var bytes = reply.Buffer.AsSpan(0, reply.Length);
                if (reply.Caller == myId) calls.OnReply(myId, bytes);
                else SendTo(reply.Caller, bytes);
                ArrayPool<byte>.Shared.Return(reply.Buffer);
                progress = true;
            }
        }
        return progress;
    }

    /// <summary>A P2P request (transport thread, or this member's own): queued for the protocol thread.</summary>
    public void EnqueueP2P(int from, ReadOnlySpan<byte> message)
    {
        var copy = ArrayPool<byte>.Shared.Rent(message.Length);
        message.CopyTo(copy);
        _p2pInbox.Enqueue((from, copy, message.Length));
        wake();
    }

    /// <summary>The protocol-thread step that runs queued P2P requests.</summary>
    public bool P2PStep()
    {
        var progress = _temporal.Count > 0 && _temporal.Step(RunP2P, Serves, ExpireTemporal); // delegates only when something is parked
        while (_p2pInbox.TryDequeue(out var item))
        {
            progress = true;
            try { RunP2P(item.From, item.Buffer.AsSpan(0, item.Length)); }
            finally { ArrayPool<byte>.Shared.Return(item.Buffer); }
        }
        return progress;
    }

    private void RunP2P(int from, ReadOnlySpan<byte> message)
    {
        _reply.Reset();
        _reply.Advance(RpcHeaders.ReplyHeaderSize);
        if (!RpcHeaders.TryReadP2PHeader(message, out var typeId, out var shard, out var methodId, out var requestId))
        {
            if (warnings.ShouldLog(from)) logger.LogWarning("P2P request of {Length} bytes from member {Peer} is too short; ignored", message.Length, from);
            return;
        }
        var end = RpcHeaders.WithoutTraceContext(message, RpcHeaders.P2PHeaderSize, out var caller);
        var span = caller == default ? null : DerechoTracing.Start("derecho.p2p", ActivityKind.Server, caller);
        if (span is null)
        {
            RunP2P(from, message, typeId, shard, methodId, requestId, end);
            return;
        }
        try
        {
            DerechoTracing.TagCall(span, myId, typeId, shard, methodId);
            RunP2P(from, message, typeId, shard, methodId, requestId, end);
        }
        finally { DerechoTracing.Stop(span); }
    }

    private void RunP2P(int from, ReadOnlySpan<byte> message, uint typeId, int shard, uint methodId, long requestId, int end)
    {
        var arguments = end < 0 ? default : message[RpcHeaders.P2PHeaderSize..end];
        var target = replicas.TryGetReplica(typeId, shard);
        ReplyStatus status;
        if (end < 0)
            status = WriteError(ReplyStatus.MalformedRequest, "the P2P request is flagged traced but too short for its trace context");
        else if (!RpcHeaders.TryReadP2PReadTime(message, out var readAt))
            status = WriteError(ReplyStatus.MalformedRequest, "the read time of the P2P request is not a valid time");
        else if (target is null || Array.IndexOf(target.Context.MembersArray, myId) < 0)
            status = WriteError(ReplyStatus.UnknownMethod, $"member {myId} holds no replica of shard {shard} of {replicas.NameOf(typeId)}");
        else if (!target.HasState)
            status = WriteError(ReplyStatus.HandlerFailed, $"member {myId} is still loading the state of shard {shard} of {target.Name}; ask another member or retry");
        else if (readAt.IsNow)
            status = Dispatch(ordered: false, target.Replica, target.Name, methodId, arguments);
        else if (target.AgreedTicks > readAt.Ticks)
        {
            // Every call stamped at or before the time is delivered here, and no later one can be: the answer is final.
            TemporalContext.Enter(readAt.Ticks);
            try { status = Dispatch(ordered: false, target.Replica, target.Name, methodId, arguments); }
            finally { TemporalContext.Exit(); }
        }
        else if (readAt.FailFast)
            status = WriteError(ReplyStatus.NotYetStable, $"time {new DateTime(readAt.Ticks, DateTimeKind.Utc):O} is not stable yet in shard {shard} of {target.Name} (frontier {new DateTime(target.AgreedTicks, DateTimeKind.Utc):O})");
        else if (readAt.Ticks > DateTime.UtcNow.Add(TemporalWaits.MaxAhead).Ticks)
            status = WriteError(ReplyStatus.MalformedRequest, $"time {new DateTime(readAt.Ticks, DateTimeKind.Utc):O} is more than {TemporalWaits.MaxAhead.TotalSeconds:0} s ahead of member {myId}'s clock");
        else if (_temporal.Count >= TemporalWaits.MaxParked)
            status = WriteError(ReplyStatus.NotYetStable, $"member {myId} already holds {TemporalWaits.MaxParked} calls waiting for their time to become stable; retry later");
        else
        {
            _temporal.Park(from, message, readAt.Ticks, target); // answered by a later step, once the frontier passed the time
            return;
        }
        SendReply(from, status, requestId);
    }

    /// <summary>Whether this member can still answer calls on <paramref name="target"/> (else a parked call is run to get its error).</summary>
    private bool Serves(ShardReplica target) => target.HasState && Array.IndexOf(target.Context.MembersArray, myId) >= 0;

    /// <summary>A parked call whose time did not become stable within <see cref="TemporalWaits.MaxWait"/>.</summary>
    private void ExpireTemporal(int from, ReadOnlySpan<byte> message)
    {
        if (!RpcHeaders.TryReadP2PHeader(message, out _, out var shard, out _, out var requestId)) return;
        SendReply(from, WriteError(ReplyStatus.NotYetStable,
            $"shard {shard}'s stable time frontier at member {myId} did not pass the time asked within {TemporalWaits.MaxWait.TotalSeconds:0} s"), requestId);
    }

    private ReplyStatus Dispatch(bool ordered, IReplicatedObject replica, string typeName, uint methodId, ReadOnlySpan<byte> arguments)
    {
        try
        {
            var known = ordered ? replica.DispatchOrdered(methodId, arguments, _reply) : replica.DispatchP2P(methodId, arguments, _reply);
            return known ? ReplyStatus.Ok : WriteError(ReplyStatus.UnknownMethod, $"{typeName} has no method with id {methodId:X8}");
        }
        catch (MemoryPack.MemoryPackSerializationException e)
        {
            return WriteError(ReplyStatus.MalformedRequest, $"{typeName} method {methodId:X8}: {e.Message}");
        }
        catch (Exception e)
        {
            return WriteError(ReplyStatus.HandlerFailed, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private ReplyStatus WriteError(ReplyStatus status, string message)
    {
        _reply.Reset();
        _reply.Advance(RpcHeaders.ReplyHeaderSize);
        var bytes = Encoding.UTF8.GetByteCount(message);
        Encoding.UTF8.GetBytes(message, _reply.GetSpan(bytes));
        _reply.Advance(bytes);
        return status;
    }

    private void SendReply(int caller, ReplyStatus status, long requestId)
    {
        RpcHeaders.WriteReplyHeader(_reply.WrittenSpanMutable, status, myId, requestId);
        if (caller == myId) calls.OnReply(myId, _reply.WrittenSpan);
        else SendTo(caller, _reply.WrittenSpan);
    }

    /// <summary>Sends a reply; a caller we cannot answer (a process that never said hello) costs a log line, not the member.</summary>
    private void SendTo(int caller, ReadOnlySpan<byte> reply)
    {
        try { transport.Send(caller, reply); }
        catch (InvalidOperationException e)
        {
            if (warnings.ShouldLog(caller)) logger.LogWarning("Member {Id} cannot reply to {Caller}: {Reason}", myId, caller, e.Message);
        }
    }
}

/// <summary>Delivers one shard's multicast of one view into its replica; sender indexes map to that view's shard members.</summary>
internal sealed class ShardDelivery(ReplicaDispatcher dispatcher, ShardReplica replica, int[] members, long viewId) : Multicast.IDeliveryHandler
{
    public ShardReplica Replica => replica;

    public void Deliver(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload) =>
        dispatcher.Deliver(replica, members[senderRank], index, sequence, viewId, payload);

    public void Skip(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload) =>
        dispatcher.Skip(replica, members[senderRank], payload);
}
