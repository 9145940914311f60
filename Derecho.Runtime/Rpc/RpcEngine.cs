using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Buffers.Binary;
using Derecho.Layout;
using Derecho.Multicast;
using Derecho.Sst;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Rpc;

/// <summary>
/// Turns each shard's delivered multicasts into handler calls and replies, and P2P messages into requests and
/// replies. All handlers, ordered and P2P, run on the protocol thread, so a replica never sees two calls
/// at once and P2P reads observe a state between two ordered updates.
/// </summary>
internal sealed class RpcEngine : IRpcInvoker
{
    private readonly int _myId;
    private volatile int[] _memberIds;
    private volatile GroupLayout _layout;
    private readonly ILogger _logger;
    private readonly Dictionary<uint, SubgroupRegistration> _registrations = new();
    private readonly ConcurrentDictionary<(uint TypeId, int Shard), ShardReplica> _replicas = new();
    private readonly ConcurrentDictionary<long, PendingCall> _pending = new();
    private readonly ConcurrentQueue<(int From, byte[] Buffer, int Length)> _p2pInbox = new();
    private readonly PooledBufferWriter _reply = new();
    private readonly List<Persistence.ReplicaLog> _logs = new();
    private readonly Func<string, string> _storage;
    private readonly int _retainVersions;
    private SendOrdered? _send;
    private RelayOrdered? _relay;
    private ITransport? _transport;
    private PredicateLoop? _loop;
    private readonly TimeProvider _clock = TimeProvider.System;
    private long _nextRequestId;
    private volatile Exception? _stopped;
    private readonly bool _replyWhenPersisted;
    private volatile ShardReplica[] _replicaList = [];

    /// <summary>Reserved replicated-type id of the time barrier (an ordered no-op that moves a shard's stable time frontier).</summary>
    public const uint TimeBarrierTypeId = 0;

    public RpcEngine(int myId, int[] memberIds, GroupLayout layout, IEnumerable<SubgroupRegistration> registrations, Func<string, string> storage, int retainVersions, bool replyWhenPersisted, ILogger logger)
    {
        _replyWhenPersisted = replyWhenPersisted;
        _myId = myId;
        _memberIds = memberIds;
        _layout = layout;
        _storage = storage;
        _retainVersions = retainVersions;
        _logger = logger;
        _nextRequestId = (long)myId << 40;
        foreach (var registration in registrations)
        {
            if (registration.TypeId == TimeBarrierTypeId) throw new InvalidOperationException($"{registration.Name}: type id 0 is reserved");
            if (!_registrations.TryAdd(registration.TypeId, registration))
                throw new InvalidOperationException($"{registration.Name}: a replicated type with id {registration.TypeId:X8} is already registered ({_registrations[registration.TypeId].Name})");
        }
        JoinRefusal = StateTransferRule.WhyJoinsAreRefused(_registrations.Values);
    }

    /// <summary>Why this member refuses every process that asks to join (a hosted type cannot transfer its state), or null.</summary>
    public string? JoinRefusal { get; }

    public IReadOnlyList<int> MemberIds => _memberIds;

    public GroupLayout Layout => _layout;

    /// <summary>
    /// Puts an ordered call into this member's instance of a shard without waiting: returns the shard's members
    /// if it went into the ring now, or null if it was queued (<see cref="OnSent"/> follows when it goes in).
    /// </summary>
    public delegate int[]? SendOrdered(uint typeId, int shard, ReadOnlySpan<byte> payload);

    /// <summary>Has a member of a shard this member is not in multicast an ordered call (<paramref name="request"/> holds a relay header).</summary>
    public delegate void RelayOrdered(int shardMember, ReadOnlySpan<byte> request);

    public void Attach(SendOrdered send, RelayOrdered relay, ITransport transport, PredicateLoop loop)
    {
        _send = send;
        _relay = relay;
        _transport = transport;
        _loop = loop;
    }

    /// <summary>The protocol-thread step that runs queued P2P requests.</summary>
    public (string Name, PredicateLoop.Step Step) P2PPredicate => ("p2p", P2PStep);

    /// <summary>The log of every replica hosted here that has persistent fields.</summary>
    public List<Persistence.ReplicaLog> Logs => _logs;

    /// <summary>The replica of a shard hosted here, created (with its versioned fields, recovered from disk) the first time.</summary>
    public ShardReplica ReplicaFor(uint typeId, int shard, int[] members)
    {
        if (_replicas.TryGetValue((typeId, shard), out var existing)) return existing;
        var registration = _registrations[typeId];
        var directory = registration.Spec.Policy.Shards == 1 ? "" : $"shard-{shard}";
        var context = new ReplicaContext(_myId, members, registration.Name, relative => _storage(Path.Combine(directory, relative)), OnReplicaLog, _retainVersions);
        var replica = new ShardReplica(typeId, shard, registration.Name, registration.Factory(context), context, registration.CanTransferState);
        context.Seal(); // fields come only from the constructor
        _replicas[(typeId, shard)] = replica;
        _replicaList = [.. _replicaList, replica];
        return replica;
    }

    private void OnReplicaLog(Persistence.ReplicaLog log)
    {
        _logs.Add(log);
        // Replies wait for the disk: the protocol thread must look again when the flusher finishes a batch.
        log.Durable += () => _loop?.Wake();
    }

    /// <summary>The protocol-thread step that sends replies whose versions reached the disk.</summary>
    public (string Name, PredicateLoop.Step Step) DurableRepliesPredicate => ("durable-replies", DurableRepliesStep);

    private bool DurableRepliesStep()
    {
        var progress = false;
        foreach (var replica in _replicaList)
        {
            var deferred = replica.DeferredReplies;
            if (deferred.Count == 0) continue;
            var durable = replica.DurableVersion();
            while (deferred.TryPeek(out var reply) && reply.Version <= durable)
            {
                deferred.Dequeue();
                var bytes = reply.Buffer.AsSpan(0, reply.Length);
                if (reply.Caller == _myId) HandleReply(_myId, bytes);
                else SendTo(reply.Caller, bytes);
                ArrayPool<byte>.Shared.Return(reply.Buffer);
                progress = true;
            }
        }
        return progress;
    }

    /// <summary>The replica of a shard if this member ever held it.</summary>
    public ShardReplica? TryGetReplica(uint typeId, int shard) => _replicas.TryGetValue((typeId, shard), out var replica) ? replica : null;

    /// <summary>Replicas hosted here (shards this member holds or held).</summary>
    public IEnumerable<ShardReplica> Replicas => _replicas.Values;

    /// <summary>The delivery handler of one shard in one view.</summary>
    public IDeliveryHandler HandlerFor(Membership.ActiveShardKey key) => new ShardDelivery(this, ReplicaFor(key.TypeId, key.Shard, key.Members), key.Members, key.ViewId);

    /// <summary>
    /// A new view is installed: calls cut off by the trim and re-sent now expect the shard's new members; other
    /// calls stop waiting for departed members; P2P calls to departed members fail.
    /// </summary>
    public void OnViewInstalled(int[] members, GroupLayout layout, IReadOnlyCollection<int> departed, IReadOnlyCollection<long> resentRequests)
    {
        _memberIds = members;
        _layout = layout;
        foreach (var replica in _replicas.Values)
            if (layout.Find(replica.TypeId) is { } subgroup && replica.Shard < subgroup.Shards.Length)
                replica.Context.MembersArray = subgroup.Shards[replica.Shard];
        foreach (var (id, call) in _pending)
        {
            var shardMembers = call.TypeId != TimeBarrierTypeId && layout.Find(call.TypeId) is { } s && call.Shard < s.Shards.Length ? s.Shards[call.Shard] : members;
            if (call.OnViewChange(departed, shardMembers, resentRequests.Contains(id)))
                _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Fails calls that a view change cut off and this member cannot re-send (it left their shard).</summary>
    public void FailCutOff(IEnumerable<long> requests, string reason)
    {
        foreach (var id in requests)
            if (_pending.TryRemove(id, out var call)) call.Fail(new RemoteCallException(_myId, reason));
    }

    /// <summary>Multicasts a time barrier into a shard and completes once every replica of it delivered it.</summary>
    public Task<QueryResults<bool>> SendTimeBarrier(uint typeId, int shard)
    {
        var request = RequestBuffers.Rent(RpcHeaders.OrderedHeaderSize);
        try { return InvokeOrdered<bool>(typeId, shard, 0, request, barrier: true); }
        finally { RequestBuffers.Return(request); }
    }

    /// <summary>Serializes a shard replica for a member new to the shard; runs on the protocol thread between deliveries.</summary>
    public static byte[] Snapshot(ShardReplica replica)
    {
        // [length i32][object state] then per versioned field [length i32][latest version]
        using var buffer = new PooledBufferWriter();
        buffer.Advance(4);
        replica.Replica.WriteState(buffer);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.WrittenSpanMutable, buffer.WrittenCount - 4);
        foreach (var field in replica.Context.VersionedFields)
        {
            var fieldStart = buffer.WrittenCount;
            buffer.Advance(4);
            field.WriteLatest(buffer);
            BinaryPrimitives.WriteInt32LittleEndian(buffer.WrittenSpanMutable[fieldStart..], buffer.WrittenCount - fieldStart - 4);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>As <see cref="Snapshot"/>, but null with the reason instead of an exception: the protocol thread must go on.</summary>
    public static byte[]? TrySnapshot(ShardReplica replica, out string? problem)
    {
        problem = replica.CanTransferState ? null : StateTransferRule.CannotTransfer(replica.Name);
        if (problem is not null) return null;
        try
        {
            return Snapshot(replica);
        }
        catch (Exception e) // user code (IReplicaState.WriteState) or MemoryPack: whatever it throws
        {
            problem = $"writing the state of {replica.Name} failed: {e.GetType().Name}: {e.Message}";
            return null;
        }
    }

    /// <summary>
    /// Loads what <see cref="Snapshot"/> wrote at another member of the shard. The log records the replica
    /// lacked came first (state transfer sends them), so its persistent fields already hold every version up
    /// to the snapshot's and skip the latest here; the object state and volatile fields take it.
    /// </summary>
    public static void Restore(ShardReplica replica, ReadOnlySpan<byte> state)
    {
        var objectLength = Section(ref state, replica.TypeId);
        replica.Replica.ReadState(state[..objectLength]);
        state = state[objectLength..];
        foreach (var field in replica.Context.VersionedFields)
        {
            var fieldLength = Section(ref state, replica.TypeId);
            field.ReadLatest(state[..fieldLength]);
            state = state[fieldLength..];
        }
        if (!state.IsEmpty) throw new InvalidDataException($"state of {replica.Name} shard {replica.Shard} has {state.Length} bytes left over");
        replica.Context.CommitDelivery(); // a persistent field's latest the log lacked (none when the tail came first)
    }

    /// <summary>Reads a length prefix of state transfer and checks it fits.</summary>
    private static int Section(ref ReadOnlySpan<byte> section, uint typeId)
    {
        if (section.Length < 4) throw new InvalidDataException($"state of type {typeId:X8} is truncated");
        var length = BinaryPrimitives.ReadInt32LittleEndian(section);
        if (length < 0 || length > section.Length - 4) throw new InvalidDataException($"state of type {typeId:X8} has a part of {length} bytes, {section.Length - 4} left");
        section = section[4..];
        return length;
    }

    /// <summary>The request id inside an ordered-call payload (for matching re-sent calls).</summary>
    public static long RequestIdOf(ReadOnlySpan<byte> payload) => RpcHeaders.RequestIdOf(payload);

    public bool HasReplicatedType(uint typeId) => _registrations.ContainsKey(typeId);

    public string NameOf(uint typeId) => _registrations.TryGetValue(typeId, out var r) ? r.Name : $"type {typeId:X8}";

    // ---- caller side ----

    public Task<QueryResults<T>> InvokeOrdered<T>(uint typeId, int shard, uint methodId, PooledBufferWriter request) =>
        InvokeOrdered<T>(typeId, shard, methodId, request, barrier: false);

    private Task<QueryResults<T>> InvokeOrdered<T>(uint typeId, int shard, uint methodId, PooledBufferWriter request, bool barrier)
    {
        ThrowIfStopped();
        var members = _layout.MembersOf(typeId, shard);
        var requestId = Interlocked.Increment(ref _nextRequestId);
        if (Array.IndexOf(members, _myId) < 0)
        {
            if (barrier) throw new InvalidOperationException($"member {_myId} is not in shard {shard} of {NameOf(typeId)}");
            return Relay<T>(typeId, shard, methodId, requestId, request, members);
        }
        RpcHeaders.WriteOrderedHeader(request.WrittenSpanMutable, barrier ? TimeBarrierTypeId : typeId, methodId, requestId, _clock.GetUtcNow().UtcTicks);
        var call = new PendingOrderedCall<T>(members) { TypeId = typeId, Shard = shard };
        // Registered before sending: a reply may arrive before Send returns.
        _pending[requestId] = call;
        try
        {
            if (_send!(typeId, shard, request.WrittenSpan) is { } sentTo) Retarget(requestId, call, sentTo);
        }
        catch (Exception e)
        {
            _pending.TryRemove(requestId, out _);
            return Task.FromException<QueryResults<T>>(e);
        }
        return call.Task;
    }

    /// <summary>
    /// A shard this member is not in: a member of it multicasts the call and returns every reply (as for a client).
    /// Always the same member while the shard's members stay the same, so our calls keep their order: one
    /// connection to it, one queue there, one sender in the shard.
    /// </summary>
    private Task<QueryResults<T>> Relay<T>(uint typeId, int shard, uint methodId, long requestId, PooledBufferWriter request, int[] members)
    {
        if (members.Length == 0) return Task.FromException<QueryResults<T>>(new InvalidOperationException($"shard {shard} of {NameOf(typeId)} has no members in this view"));
        var via = members[_myId % members.Length];
        RpcHeaders.WriteRelayHeader(request.WrittenSpanMutable, typeId, shard, methodId, requestId);
        var call = new PendingRelayedCall<T>(via) { TypeId = typeId, Shard = shard };
        _pending[requestId] = call;
        _relay!(via, request.WrittenSpan);
        return call.Task;
    }

    /// <summary>A relaying member answered with every replica's reply.</summary>
    public void OnRelayResult(long requestId, IReadOnlyList<RawReply> replies)
    {
        if (_pending.TryRemove(requestId, out var call) && call is IRelayedCall relayed) relayed.Complete(replies);
    }

    /// <summary>
    /// Multicasts an ordered call on behalf of a client or another member; <paramref name="completed"/> gets the
    /// raw replies. Never waits, so transport threads may call it.
    /// </summary>
    public void InvokeRelay(uint typeId, int shard, uint methodId, PooledBufferWriter request, Action<IReadOnlyList<RawReply>> completed)
    {
        int[] members;
        try { members = _layout.MembersOf(typeId, shard); }
        catch (ArgumentException e) { completed([new RawReply(-1, ReplyStatus.UnknownMethod, System.Text.Encoding.UTF8.GetBytes(e.Message))]); return; }
        var call = new PendingRelayCall(members, completed) { TypeId = typeId, Shard = shard };
        if (_stopped is { } reason) { call.Fail(reason); return; }
        if (Array.IndexOf(members, _myId) < 0)
        {
            call.Fail(new InvalidOperationException($"member {_myId} is not in shard {shard} of {NameOf(typeId)}; ask one of its members ({string.Join(", ", members)})"));
            return;
        }
        var requestId = Interlocked.Increment(ref _nextRequestId);
        RpcHeaders.WriteOrderedHeader(request.WrittenSpanMutable, typeId, methodId, requestId, _clock.GetUtcNow().UtcTicks);
        _pending[requestId] = call;
        try
        {
            if (_send!(typeId, shard, request.WrittenSpan) is { } sentTo) Retarget(requestId, call, sentTo);
        }
        catch (Exception e)
        {
            if (_pending.TryRemove(requestId, out _)) call.Fail(e);
        }
    }

    /// <summary>A queued call (ring full, or view wedged or inadequate) went into a view whose shard has <paramref name="members"/>.</summary>
    public void OnSent(long requestId, int[] members)
    {
        if (_pending.TryGetValue(requestId, out var call)) Retarget(requestId, call, members);
    }

    private void Retarget(long requestId, PendingCall call, int[] members)
    {
        if (call.Retarget(members)) _pending.TryRemove(requestId, out _);
    }

    public Task<T> InvokeP2P<T>(int memberId, uint typeId, int shard, uint methodId, PooledBufferWriter request)
    {
        ThrowIfStopped();
        if (Array.IndexOf(_memberIds, memberId) < 0)
            return Task.FromException<T>(new ArgumentException($"member {memberId} is not in this group (members: {string.Join(", ", _memberIds)})", nameof(memberId)));
        if (shard < 0 && (shard = _layout.ShardOfMember(typeId, memberId)) < 0)
            return Task.FromException<T>(new ArgumentException($"member {memberId} holds no shard of {NameOf(typeId)}", nameof(memberId)));
        var requestId = Interlocked.Increment(ref _nextRequestId);
        RpcHeaders.WriteP2PHeader(request.WrittenSpanMutable, typeId, shard, methodId, requestId);
        var call = new PendingP2PCall<T>(memberId);
        _pending[requestId] = call;
        if (memberId == _myId) Enqueue(_myId, request.WrittenSpan);
        else
        {
            _transport!.Send(memberId, request.WrittenSpan);
            _transport.Flush();
        }
        return call.Task;
    }

    // ---- replica side ----

    /// <summary>Runs one delivered ordered call of a shard (on the protocol thread) and replies to its sender.</summary>
    public void Deliver(ShardReplica target, int caller, long index, long sequence, long viewId, ReadOnlySpan<byte> payload)
    {
        if (!RpcHeaders.TryReadOrderedHeader(payload, out var typeId, out var methodId, out var requestId, out var senderTicks))
        {
            _logger.LogError("Ordered message {Index} from member {Caller} is {Length} bytes, too short for a call header; skipped at every replica", index, caller, payload.Length);
            return;
        }
        var arguments = payload[RpcHeaders.OrderedHeaderSize..];
        _reply.Reset();
        _reply.Advance(RpcHeaders.ReplyHeaderSize);
        ReplyStatus status;
        // The agreed time: the sender's clock, forced monotonic in the shard's delivery order, so every replica computes the same.
        if (typeId == TimeBarrierTypeId || typeId == target.TypeId) target.Agree(senderTicks);
        if (typeId == TimeBarrierTypeId)
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
            OrderedContext.Enter(delivery);
            try { status = Dispatch(ordered: true, target.Replica, target.Name, methodId, arguments); }
            finally { OrderedContext.Exit(); }
            // Everything the call changed becomes one record: fields can never be out of step after a crash.
            if (target.Context.CommitDelivery() && _replyWhenPersisted)
            {
                // The call created a durable version: answer once it is on disk (the reply waits, pooled, not the thread).
                RpcHeaders.WriteReplyHeader(_reply.WrittenSpanMutable, status, _myId, requestId);
                var copy = ArrayPool<byte>.Shared.Rent(_reply.WrittenCount);
                _reply.WrittenSpan.CopyTo(copy);
                target.DeferredReplies.Enqueue(new DeferredReply(target.Context.Log!.LastVersion, caller, copy, _reply.WrittenCount));
                return;
            }
        }
        SendReply(caller, status, requestId);
    }

    /// <summary>A trimmed call this replica cannot apply (it lacks the shard's state): tell the caller not to wait for it.</summary>
    public void Skip(ShardReplica target, int caller, ReadOnlySpan<byte> payload)
    {
        if (!RpcHeaders.TryReadOrderedHeader(payload, out _, out _, out var requestId, out _)) return;
        SendReply(caller, WriteError(ReplyStatus.NotApplied, $"member {_myId} was loading the state of shard {target.Shard} of {target.Name}"), requestId);
    }

    public void OnMessage(int peer, ReadOnlySpan<byte> message)
    {
        if (message.IsEmpty) { _logger.LogWarning("Empty RPC message from member {Peer} ignored", peer); return; }
        switch ((MessageKind)message[0])
        {
            case MessageKind.Reply:
                HandleReply(peer, message);
                break;
            case MessageKind.P2PRequest:
                Enqueue(peer, message);
                break;
            default:
                _logger.LogWarning("RPC message of unknown kind {Kind} from member {Peer} ignored", message[0], peer);
                break;
        }
    }

    /// <summary>A peer is gone: relayed calls it was multicasting may or may not have been applied.</summary>
    public void OnPeerLost(int peer, string reason)
    {
        foreach (var (id, call) in _pending)
            if (call is IRelayedCall relayed && relayed.Via == peer && _pending.TryRemove(id, out _))
                call.Fail(new RemoteCallException(peer, $"lost the connection before replying ({reason}); the call may or may not have been applied"));
    }

    /// <summary>Fails every pending call and refuses new ones.</summary>
    public void Stop(Exception reason)
    {
        _stopped ??= reason;
        foreach (var id in _pending.Keys)
            if (_pending.TryRemove(id, out var call)) call.Fail(reason);
    }

    private void ThrowIfStopped()
    {
        if (_stopped is { } reason) throw new InvalidOperationException($"group is stopped: {reason.Message}", reason);
    }

    private void Enqueue(int from, ReadOnlySpan<byte> message)
    {
        var copy = ArrayPool<byte>.Shared.Rent(message.Length);
        message.CopyTo(copy);
        _p2pInbox.Enqueue((from, copy, message.Length));
        _loop?.Wake();
    }

    private bool P2PStep()
    {
        var progress = false;
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
            _logger.LogWarning("P2P request of {Length} bytes from member {Peer} is too short; ignored", message.Length, from);
            return;
        }
        var arguments = message[RpcHeaders.P2PHeaderSize..];
        var status = !_replicas.TryGetValue((typeId, shard), out var target) || Array.IndexOf(target.Context.MembersArray, _myId) < 0
            ? WriteError(ReplyStatus.UnknownMethod, $"member {_myId} holds no replica of shard {shard} of {NameOf(typeId)}")
            : !target.HasState
                ? WriteError(ReplyStatus.HandlerFailed, $"member {_myId} is still loading the state of shard {shard} of {target.Name}; ask another member or retry")
                : Dispatch(ordered: false, target.Replica, target.Name, methodId, arguments);
        SendReply(from, status, requestId);
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
        RpcHeaders.WriteReplyHeader(_reply.WrittenSpanMutable, status, _myId, requestId);
        if (caller == _myId) HandleReply(_myId, _reply.WrittenSpan);
        else SendTo(caller, _reply.WrittenSpan);
    }

    /// <summary>Sends a reply; a caller we cannot answer (a process that never said hello) costs a log line, not the member.</summary>
    private void SendTo(int caller, ReadOnlySpan<byte> reply)
    {
        try { _transport!.Send(caller, reply); }
        catch (InvalidOperationException e) { _logger.LogWarning("Member {Id} cannot reply to {Caller}: {Reason}", _myId, caller, e.Message); }
    }

    private void HandleReply(int peer, ReadOnlySpan<byte> message)
    {
        if (!RpcHeaders.TryReadReplyHeader(message, out var status, out var memberId, out var requestId) || memberId != peer)
        {
            _logger.LogWarning("Malformed reply from member {Peer} ignored", peer);
            return;
        }
        if (_pending.TryGetValue(requestId, out var call) && call.OnReply(memberId, status, message[RpcHeaders.ReplyHeaderSize..]))
            _pending.TryRemove(requestId, out _);
    }
}

/// <summary>One shard's replica at this member; it outlives views (a member keeps its shard across view changes).</summary>
internal sealed class ShardReplica(uint typeId, int shard, string name, IReplicatedObject replica, ReplicaContext context, bool canTransferState)
{
    private long _agreedTicks;

    public uint TypeId { get; } = typeId;

    public int Shard { get; } = shard;

    public string Name { get; } = name;

    public IReplicatedObject Replica { get; } = replica;

    public ReplicaContext Context { get; } = context;

    /// <summary>Whether its state can be sent to a member new to the shard (see <see cref="IReplicatedType.CanTransferState"/>).</summary>
    public bool CanTransferState { get; } = canTransferState;

    /// <summary>Agreed time of the shard's last delivered call: its stable time frontier.</summary>
    public long AgreedTicks => Interlocked.Read(ref _agreedTicks);

    /// <summary>
    /// Whether this replica holds the shard's state: it started the shard, was in it since, or loaded the state
    /// sent to it. A replica without it delivers nothing and never sends its state.
    /// </summary>
    public bool HasState
    {
        get => Volatile.Read(ref _hasState);
        set => Volatile.Write(ref _hasState, value);
    }

    private bool _hasState;

    /// <summary>Replies of calls whose versions are not yet on disk, in version order (protocol thread only).</summary>
    public Queue<DeferredReply> DeferredReplies { get; } = new();

    /// <summary>Every version up to this one is on disk (long.MaxValue: everything logged is).</summary>
    public long DurableVersion() =>
        Context.Log is { } log && log.PersistedVersion < log.LastVersion ? log.PersistedVersion : long.MaxValue;

    /// <summary>Whether every version the replica's persistent fields logged is on disk.</summary>
    public bool AllLoggedDurable => DurableVersion() == long.MaxValue;

    /// <summary>Advances the agreed time along the shard's total order (protocol thread only).</summary>
    public void Agree(long senderTicks) =>
        Interlocked.Exchange(ref _agreedTicks, Math.Max(_agreedTicks + 1, Math.Clamp(senderTicks, DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks)));
}

/// <summary>A reply held until the version its call created is on disk.</summary>
internal readonly record struct DeferredReply(long Version, int Caller, byte[] Buffer, int Length);

/// <summary>Delivers one shard's multicast of one view into its replica; sender indexes map to that view's shard members.</summary>
internal sealed class ShardDelivery(RpcEngine engine, ShardReplica replica, int[] members, long viewId) : IDeliveryHandler
{
    public ShardReplica Replica => replica;

    public void Deliver(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload) =>
        engine.Deliver(replica, members[senderRank], index, sequence, viewId, payload);

    public void Skip(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload) =>
        engine.Skip(replica, members[senderRank], payload);
}
