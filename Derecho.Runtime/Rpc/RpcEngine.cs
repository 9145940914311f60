using System.Diagnostics;
using Derecho.Diagnostics;
using Derecho.Errors;
using Derecho.Internal;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Rpc;

/// <summary>
/// The caller side of calls: ordered calls go into the shard's ring (or its queue) when this member is in the
/// shard and are relayed through a shard member when it is not; P2P calls go to one member. Replies come
/// back through <see cref="PendingCalls"/>; the replica side (<see cref="IP2PRequests"/> here) runs the calls that reach us.
/// </summary>
internal sealed class RpcEngine : IRpcInvoker, IDisposable
{
    private static readonly GroupLayout NotInView = new([], "not in a view yet");

    private readonly int _myId;
    private readonly ViewSlot _views;
    private readonly Func<uint, string> _nameOf;
    private readonly PendingCalls _calls;
    private readonly IP2PRequests _local;
    private readonly OrderedCallQueue _queue;
    private readonly ITransport _transport;
    private readonly PeerWarnings _warnings;
    private readonly ILogger _logger;
    private readonly int _maxPayloadBytes;
    private readonly TimeProvider _clock = TimeProvider.System;
    private readonly KeyValuePair<string, object?> _memberTag;
    private readonly Replication.TriggerWorker _triggers;
    private readonly TriggerBatcher _triggerBatches;
    private volatile Exception? _stopped;

    /// <summary>Members read their own replicas; notification subscriptions are for external clients.</summary>
    public IAsyncEnumerable<Notification<T>> Subscribe<T>(uint typeId, int shard, string? topic, long afterVersion, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"member {_myId}: notification subscriptions are made by external clients (DerechoClient), not by members");

    public RpcEngine(int myId, int maxPayloadBytes, ViewSlot views, Func<uint, string> nameOf, PendingCalls calls, IP2PRequests local, ITransport transport, Action wake, PeerWarnings warnings, ILogger logger,
        Replication.TriggerWorker triggers, TriggerWindow triggerWindow)
    {
        _triggers = triggers;
        _triggerBatches = new TriggerBatcher($"member {myId}", triggerWindow, (member, frame) =>
        {
            transport.Send(member, frame);
            transport.Flush();
        });
        _myId = myId;
        _maxPayloadBytes = maxPayloadBytes;
        _views = views;
        _nameOf = nameOf;
        _calls = calls;
        _local = local;
        _transport = transport;
        _warnings = warnings;
        _logger = logger;
        _memberTag = MetricTags.ForMember(myId);
        _queue = new OrderedCallQueue(myId, maxPayloadBytes, views, calls, nameOf, wake);
    }

    public IReadOnlyList<int> MemberIds => _views.Addressing?.View.Members ?? [];

    public GroupLayout Layout => _views.Addressing?.Layout ?? NotInView;

    public int OrderedHeaderSize => RpcHeaders.OrderedHeaderSize;

    /// <summary>The protocol-thread step that moves queued ordered calls into their rings.</summary>
    public bool SendQueuedStep() => _queue.SendQueuedStep();

    /// <summary>Multicasts a time barrier into a shard and completes once every replica of it delivered it.</summary>
    public Task<QueryResults<bool>> SendTimeBarrier(uint typeId, int shard)
    {
        var request = RequestBuffers.Rent(RpcHeaders.OrderedHeaderSize);
        try { return InvokeOrdered<bool>(typeId, shard, 0, request, barrier: true); }
        finally { RequestBuffers.Return(request); }
    }

    public Task<QueryResults<T>> InvokeOrdered<T>(uint typeId, int shard, uint methodId, PooledBufferWriter request) =>
        InvokeOrdered<T>(typeId, shard, methodId, request, barrier: false);

    private Task<QueryResults<T>> InvokeOrdered<T>(uint typeId, int shard, uint methodId, PooledBufferWriter request, bool barrier)
    {
        ThrowIfStopped();
        var members = Layout.MembersOf(typeId, shard);
        var requestId = _calls.NextRequestId();
        var span = barrier ? null : DerechoTracing.Start("derecho.ordered", ActivityKind.Client);
        if (span is not null) DerechoTracing.TagCall(span, _myId, typeId, shard, methodId);
        if (Array.IndexOf(members, _myId) < 0)
        {
            if (barrier) throw new InvalidOperationException($"member {_myId} is not in shard {shard} of {_nameOf(typeId)}");
            return DerechoTracing.StopWhenDone(Relay<T>(typeId, shard, methodId, requestId, request, members, span), span);
        }
        RpcHeaders.WriteOrderedHeader(request.WrittenSpanMutable, barrier ? RpcHeaders.TimeBarrierTypeId : typeId, methodId, requestId, _clock.GetUtcNow().UtcTicks);
        var call = new PendingOrderedCall<T>(members) { TypeId = typeId, Shard = shard };
        _calls.Add(requestId, call);
        // A traced call goes in a trace envelope (a copy: only a traced call pays for it), so each replica's delivery is a child of this span.
        var traced = span is not null && request.WrittenCount + RpcHeaders.TraceEnvelopeSize <= _maxPayloadBytes ? new PooledBufferWriter() : null;
        try
        {
            var payload = request.WrittenSpan;
            if (traced is not null)
            {
                var at = traced.GetSpan(RpcHeaders.TraceEnvelopeSize + payload.Length);
                RpcHeaders.WriteTraceEnvelope(at, span!.Context);
                payload.CopyTo(at[RpcHeaders.TraceEnvelopeSize..]);
                traced.Advance(RpcHeaders.TraceEnvelopeSize + payload.Length);
                payload = traced.WrittenSpan;
            }
            if (_queue.Send(typeId, shard, payload) is { } sentTo) _calls.Retarget(requestId, sentTo);
        }
        catch (Exception e)
        {
            _calls.Remove(requestId);
            if (span is not null) DerechoTracing.Stop(span, e);
            return Task.FromException<QueryResults<T>>(e);
        }
        finally { traced?.Dispose(); }
        return DerechoTracing.StopWhenDone(call.Task, span);
    }

    /// <summary>
    /// A shard this member is not in: a member of it multicasts the call and returns every reply (as for a client).
    /// Always the same member while the shard's members stay the same, so our calls keep their order: one
    /// connection to it, one queue there, one sender in the shard.
    /// </summary>
    private Task<QueryResults<T>> Relay<T>(uint typeId, int shard, uint methodId, long requestId, PooledBufferWriter request, int[] members, Activity? span)
    {
        if (members.Length == 0) return Task.FromException<QueryResults<T>>(new ShardUnavailableException($"shard {shard} of {_nameOf(typeId)} has no members in this view"));
        var via = members[_myId % members.Length];
        RpcHeaders.WriteRelayHeader(request.WrittenSpanMutable, typeId, shard, methodId, requestId);
        if (span is not null) RpcHeaders.AppendTraceContext(request, span.Context);
        var call = new PendingRelayedCall<T>(via) { TypeId = typeId, Shard = shard };
        _calls.Add(requestId, call);
        _transport.Send(via, request.WrittenSpan);
        _transport.Flush();
        return call.Task;
    }

    /// <summary>
    /// Multicasts an ordered call on behalf of a client or another member; <paramref name="completed"/> gets the
    /// raw replies. A client's call in its <paramref name="session"/> goes in a session envelope (the request
    /// reserves room for it in front of the call header). Never waits, so transport threads may call it.
    /// </summary>
    /// <paramref name="trace"/>, when set, is the relay's span: the request reserves room for a trace envelope too (after the
    /// session envelope), which carries the multicast send's span (a child of it) to every replica.
    public void InvokeRelay(uint typeId, int shard, uint methodId, PooledBufferWriter request, ClientSession? session, Action<IReadOnlyList<RawReply>> completed,
        Activity? trace = null)
    {
        int[] members;
        try { members = Layout.MembersOf(typeId, shard); }
        catch (ArgumentException e) { completed([new RawReply(-1, ReplyStatus.UnknownMethod, System.Text.Encoding.UTF8.GetBytes(e.Message))]); return; }
        var call = new PendingRelayCall(members, completed) { TypeId = typeId, Shard = shard };
        if (_stopped is { } reason) { call.Fail(reason); return; }
        if (Array.IndexOf(members, _myId) < 0)
        {
            call.Fail(new ShardUnavailableException($"member {_myId} is not in shard {shard} of {_nameOf(typeId)}; ask one of its members ({string.Join(", ", members)})"));
            return;
        }
        var requestId = _calls.NextRequestId();
        var header = request.WrittenSpanMutable;
        if (session is { } inSession)
        {
            RpcHeaders.WriteSessionEnvelope(header, inSession);
            header = header[RpcHeaders.SessionEnvelopeSize..];
        }
        var send = trace is null ? null : DerechoTracing.Start("derecho.multicast.send", ActivityKind.Producer, trace.Context);
        if (trace is not null)
        {
            RpcHeaders.WriteTraceEnvelope(header, (send ?? trace).Context);
            header = header[RpcHeaders.TraceEnvelopeSize..];
            if (send is not null) DerechoTracing.TagCall(send, _myId, typeId, shard, methodId);
        }
        RpcHeaders.WriteOrderedHeader(header, typeId, methodId, requestId, _clock.GetUtcNow().UtcTicks);
        _calls.Add(requestId, call);
        try
        {
            if (_queue.Send(typeId, shard, request.WrittenSpan) is { } sentTo) _calls.Retarget(requestId, sentTo);
            if (DerechoMetrics.Relays.Enabled) DerechoMetrics.Relays.Add(1, _memberTag, new(MetricTags.TypeKey, _nameOf(typeId)));
        }
        catch (Exception e)
        {
            if (send is not null) send.SetStatus(ActivityStatusCode.Error, e.Message);
            if (_calls.Remove(requestId)) call.Fail(e);
        }
        finally
        {
            if (send is not null) DerechoTracing.Stop(send);
        }
    }

    public Task<T> InvokeP2P<T>(int memberId, uint typeId, int shard, uint methodId, PooledBufferWriter request, ReadTime readAt)
    {
        ThrowIfStopped();
        var members = MemberIds;
        if (!members.Contains(memberId))
            return Task.FromException<T>(new ArgumentException($"member {memberId} is not in this group (members: {string.Join(", ", members)})", nameof(memberId)));
        if (shard < 0 && (shard = Layout.ShardOfMember(typeId, memberId)) < 0)
            return Task.FromException<T>(new ArgumentException($"member {memberId} holds no shard of {_nameOf(typeId)}", nameof(memberId)));
        var requestId = _calls.NextRequestId();
        RpcHeaders.WriteP2PHeader(request.WrittenSpanMutable, typeId, shard, methodId, requestId, readAt);
        var span = DerechoTracing.Start("derecho.p2p", ActivityKind.Client);
        if (span is not null)
        {
            DerechoTracing.TagCall(span, _myId, typeId, shard, methodId);
            RpcHeaders.AppendTraceContext(request, span.Context);
        }
        var call = new PendingP2PCall<T>(memberId);
        _calls.Add(requestId, call);
        if (memberId == _myId) _local.EnqueueP2P(_myId, request.WrittenSpan);
        else
        {
            _transport.Send(memberId, request.WrittenSpan);
            _transport.Flush();
        }
        return DerechoTracing.StopWhenDone(call.Task, span);
    }

    /// <summary>
    /// A trigger event: run here when this member holds the shard (accepted once queued), else batched to one member
    /// of it, the same while the shard's members stay the same (so this member's events keep their order).
    /// </summary>
    public Task InvokeTrigger(uint typeId, int shard, uint methodId, PooledBufferWriter request)
    {
        if (_stopped is { } stopped) return Task.FromException(new TriggerNotAcceptedException($"member {_myId} stopped: {stopped.Message}", stopped));
        int[] members;
        try { members = Layout.MembersOf(typeId, shard); }
        catch (ArgumentException e) { return Task.FromException(e); }
        if (members.Length == 0) return Task.FromException(new ShardUnavailableException($"shard {shard} of {_nameOf(typeId)} has no members in this view"));
        TriggerMessages.WriteEventHeader(request.WrittenSpanMutable, typeId, methodId, shard);
        if (Array.IndexOf(members, _myId) < 0) return _triggerBatches.Enqueue(members[_myId % members.Length], request.WrittenSpan);
        var frame = System.Buffers.ArrayPool<byte>.Shared.Rent(TriggerMessages.BatchHeaderSize + request.WrittenCount);
        try
        {
            var message = frame.AsSpan(0, TriggerMessages.BatchHeaderSize + request.WrittenCount);
            TriggerMessages.WriteBatchHeader(message, 1, 0);
            request.WrittenSpan.CopyTo(message[TriggerMessages.BatchHeaderSize..]);
            var (status, reason, _, _) = _triggers.Accept(_myId, message, mayDefer: false, out _);
            return status == ReplyStatus.Ok ? Task.CompletedTask
                : Task.FromException(new TriggerNotAcceptedException($"member {_myId} refused its own trigger event ({status}): {reason}"));
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(frame); }
    }

    /// <summary>A member's acknowledgement of a trigger batch this member sent it.</summary>
    public void OnTriggerAck(int peer, ReadOnlySpan<byte> message)
    {
        if (TriggerMessages.TryReadAck(message, out var batch, out var status, out var reason)) _triggerBatches.OnAck(peer, batch, status, reason);
        else if (_warnings.ShouldLog(peer)) _logger.LogWarning("Malformed trigger acknowledgement ({Length} bytes) from {Peer} ignored", message.Length, peer);
    }

    /// <summary>A peer went away: trigger batches to it fail.</summary>
    public void OnPeerLost(int peer, string reason) => _triggerBatches.OnPeerLost(peer, reason);

    /// <summary>A two-sided RPC message from a peer: a reply to one of our calls, or a P2P request for a replica here.</summary>
    public void OnMessage(int peer, ReadOnlySpan<byte> message)
    {
        if (message.IsEmpty)
        {
            if (_warnings.ShouldLog(peer)) _logger.LogWarning("Empty RPC message from member {Peer} ignored", peer);
            return;
        }
        switch ((MessageKind)message[0])
        {
            case MessageKind.Reply:
                _calls.OnReply(peer, message);
                break;
            case MessageKind.P2PRequest:
                _local.EnqueueP2P(peer, message);
                break;
            default:
                if (_warnings.ShouldLog(peer)) _logger.LogWarning("RPC message of unknown kind {Kind} from member {Peer} ignored", message[0], peer);
                break;
        }
    }

    /// <summary>Refuses further calls, drops queued ones and fails every pending call.</summary>
    public void Stop(string reason, Exception error)
    {
        _queue.Stop(reason);
        _stopped ??= error;
        _calls.FailAll(error);
        _triggerBatches.Close(reason);
        _triggerBatches.Dispose();
    }

    /// <summary>Stops the trigger batcher's timer (<see cref="Stop"/> does too).</summary>
    public void Dispose() => _triggerBatches.Dispose();

    private void ThrowIfStopped()
    {
        if (_stopped is { } reason) throw reason as MemberStoppedException ?? new MemberStoppedException(_myId, reason.Message, reason);
    }
}
