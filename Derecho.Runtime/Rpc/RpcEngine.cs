using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Derecho.Multicast;
using Derecho.Sst;
using Derecho.Transport;
using Microsoft.Extensions.Logging;

namespace Derecho.Rpc;

/// <summary>
/// Turns delivered multicasts into handler calls and replies, and P2P messages into requests and
/// replies. All handlers, ordered and P2P, run on the protocol thread, so a replica never sees two calls
/// at once and P2P reads observe a state between two ordered updates.
/// </summary>
internal sealed class RpcEngine : IDeliveryHandler, IRpcInvoker
{
    private readonly int _myId;
    private volatile int[] _memberIds;
    private readonly ILogger _logger;
    private readonly Dictionary<uint, (IReplicatedObject Replica, ReplicaContext Context, string Name)> _replicas = new();
    private readonly ConcurrentDictionary<long, PendingCall> _pending = new();
    private readonly ConcurrentQueue<(int From, byte[] Buffer, int Length)> _p2pInbox = new();
    private readonly PooledBufferWriter _reply = new();
    private readonly List<ReplicaContext> _contexts = new();
    private readonly List<IPersistentField> _persistentFields = new();
    private SendOrdered? _send;
    private ITransport? _transport;
    private PredicateLoop? _loop;
    private readonly TimeProvider _clock = TimeProvider.System;
    private long _nextRequestId;
    private long _agreedTicks;

    /// <summary>Reserved replicated-type id of the time barrier (an ordered no-op that moves the stable time frontier).</summary>
    public const uint TimeBarrierTypeId = 0;

    /// <summary>
    /// Stable time frontier, in ticks: the agreed time of the last delivered call. Agreed times increase along
    /// the total order, so no version this replica creates later can be stamped at or before it.
    /// </summary>
    public long FrontierTicks => Interlocked.Read(ref _agreedTicks);
    private volatile Exception? _stopped;

    public RpcEngine(int myId, int[] memberIds, ILogger logger)
    {
        _myId = myId;
        _memberIds = memberIds;
        _logger = logger;
        _nextRequestId = (long)myId << 40;
    }

    public IReadOnlyList<int> MemberIds => _memberIds;

    /// <summary>Puts an ordered call into the current view's multicast (waiting out a view change).</summary>
    public delegate void SendOrdered(ReadOnlySpan<byte> payload);

    public void Attach(SendOrdered send, ITransport transport, PredicateLoop loop)
    {
        _send = send;
        _transport = transport;
        _loop = loop;
    }

    /// <summary>The protocol-thread step that runs queued P2P requests.</summary>
    public (string Name, PredicateLoop.Step Step) P2PPredicate => ("p2p", P2PStep);

    public ReplicaContext CreateContext(string typeName, Func<string, string> storage, int retainVersions)
    {
        var context = new ReplicaContext(_myId, _memberIds, typeName, storage, _persistentFields.Add, retainVersions);
        _contexts.Add(context);
        return context;
    }

    /// <summary>Every persistent field of every replica hosted here (a list: the protocol thread walks it each iteration).</summary>
    public List<IPersistentField> PersistentFields => _persistentFields;

    /// <summary>Id of the view being delivered; set by the group with <see cref="DeliveringView"/>.</summary>
    public long DeliveringViewId { get; set; }

    /// <summary>
    /// A new view is installed: calls cut off by the trim and re-sent now expect the new members; other
    /// calls stop waiting for departed members; P2P calls to departed members fail.
    /// </summary>
    public void OnViewInstalled(int[] members, IReadOnlyCollection<int> departed, IReadOnlyCollection<long> resentRequests)
    {
        _memberIds = members;
        foreach (var (id, call) in _pending)
            if (call.OnViewChange(departed, members, resentRequests.Contains(id)))
                _pending.TryRemove(id, out _);
    }

    /// <summary>Multicasts a time barrier and completes once every replica delivered it.</summary>
    public Task<QueryResults<bool>> SendTimeBarrier()
    {
        var request = RequestBuffers.Rent(RpcWire.OrderedHeaderSize);
        try { return InvokeOrdered<bool>(TimeBarrierTypeId, 0, request); }
        finally { RequestBuffers.Return(request); }
    }

    /// <summary>Serializes every replica (state transfer to a joiner); runs on the protocol thread between deliveries.</summary>
    public byte[] SnapshotReplicas()
    {
        using var buffer = new PooledBufferWriter();
        foreach (var (typeId, (replica, context, _)) in _replicas.OrderBy(r => r.Key))
        {
            // [type u32][length i32][object state][per versioned field: length i32, latest version]
            var header = buffer.WrittenCount;
            buffer.Advance(8);
            var objectStart = buffer.WrittenCount;
            buffer.Advance(4);
            replica.WriteState(buffer);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(buffer.WrittenSpanMutable[objectStart..], buffer.WrittenCount - objectStart - 4);
            foreach (var field in context.VersionedFields)
            {
                var fieldStart = buffer.WrittenCount;
                buffer.Advance(4);
                field.WriteLatest(buffer);
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(buffer.WrittenSpanMutable[fieldStart..], buffer.WrittenCount - fieldStart - 4);
            }
            var length = buffer.WrittenCount - header - 8;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(buffer.WrittenSpanMutable[header..], typeId);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(buffer.WrittenSpanMutable[(header + 4)..], length);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Loads what <see cref="SnapshotReplicas"/> wrote at another member into this member's replicas.</summary>
    public void RestoreReplicas(ReadOnlySpan<byte> state)
    {
        var restored = 0;
        while (!state.IsEmpty)
        {
            if (state.Length < 8) throw new InvalidDataException("state transfer is truncated");
            var typeId = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(state);
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(state[4..]);
            if (length < 0 || length > state.Length - 8) throw new InvalidDataException($"state of type {typeId:X8} claims {length} bytes, {state.Length - 8} left");
            if (!_replicas.TryGetValue(typeId, out var target))
                throw new InvalidDataException($"state transfer carries replicated type {typeId:X8}, which this member does not host");
            var section = state.Slice(8, length);
            var objectLength = Section(ref section, typeId);
            target.Replica.ReadState(section[..objectLength]);
            section = section[objectLength..];
            foreach (var field in target.Context.VersionedFields)
            {
                var fieldLength = Section(ref section, typeId);
                field.ReadLatest(section[..fieldLength]);
                section = section[fieldLength..];
            }
            state = state[(8 + length)..];
            restored++;
        }
        if (restored != _replicas.Count) throw new InvalidDataException($"state transfer carried {restored} of this member's {_replicas.Count} replicated types");
    }

    /// <summary>Reads a length prefix of state transfer and checks it fits.</summary>
    private static int Section(ref ReadOnlySpan<byte> section, uint typeId)
    {
        if (section.Length < 4) throw new InvalidDataException($"state of type {typeId:X8} is truncated");
        var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(section);
        if (length < 0 || length > section.Length - 4) throw new InvalidDataException($"state of type {typeId:X8} has a part of {length} bytes, {section.Length - 4} left");
        section = section[4..];
        return length;
    }

    /// <summary>The request id inside an ordered-call payload (for matching re-sent calls).</summary>
    public static long RequestIdOf(ReadOnlySpan<byte> payload) =>
        RpcWire.TryReadOrderedHeader(payload, out _, out _, out var requestId, out _) ? requestId : -1;

    public void Register(uint typeId, IReplicatedObject replica, ReplicaContext context, string name)
    {
        if (typeId == TimeBarrierTypeId) throw new InvalidOperationException($"{name}: type id 0 is reserved");
        if (!_replicas.TryAdd(typeId, (replica, context, name)))
            throw new InvalidOperationException($"{name}: a replicated type with id {typeId:X8} is already registered ({_replicas[typeId].Name})");
    }

    public bool HasReplica(uint typeId) => _replicas.ContainsKey(typeId);

    // ---- caller side ----

    public Task<QueryResults<T>> InvokeOrdered<T>(uint typeId, uint methodId, PooledBufferWriter request)
    {
        ThrowIfStopped();
        var requestId = Interlocked.Increment(ref _nextRequestId);
        RpcWire.WriteOrderedHeader(request.WrittenSpanMutable, typeId, methodId, requestId, _clock.GetUtcNow().UtcTicks);
        var call = new PendingOrderedCall<T>(_memberIds);
        // Registered before sending: a reply may arrive before Send returns.
        _pending[requestId] = call;
        try
        {
            _send!(request.WrittenSpan);
        }
        catch (Exception e)
        {
            _pending.TryRemove(requestId, out _);
            return Task.FromException<QueryResults<T>>(e);
        }
        return call.Task;
    }

    /// <summary>Multicasts an ordered call on behalf of an external client; <paramref name="completed"/> gets the raw replies.</summary>
    public void InvokeRelay(uint typeId, uint methodId, PooledBufferWriter request, Action<IReadOnlyList<RawReply>> completed)
    {
        var call = new PendingRelayCall(_memberIds, completed);
        if (_stopped is { } reason) { call.Fail(reason); return; }
        var requestId = Interlocked.Increment(ref _nextRequestId);
        RpcWire.WriteOrderedHeader(request.WrittenSpanMutable, typeId, methodId, requestId, _clock.GetUtcNow().UtcTicks);
        _pending[requestId] = call;
        try
        {
            _send!(request.WrittenSpan);
        }
        catch (Exception e)
        {
            if (_pending.TryRemove(requestId, out _)) call.Fail(e);
        }
    }

    public Task<T> InvokeP2P<T>(int memberId, uint typeId, uint methodId, PooledBufferWriter request)
    {
        ThrowIfStopped();
        if (Array.IndexOf(_memberIds, memberId) < 0)
            return Task.FromException<T>(new ArgumentException($"member {memberId} is not in this group (members: {string.Join(", ", _memberIds)})", nameof(memberId)));
        var requestId = Interlocked.Increment(ref _nextRequestId);
        RpcWire.WriteP2PHeader(request.WrittenSpanMutable, typeId, methodId, requestId);
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

    /// <summary>Members of the view being delivered; set by the group before each view's messages.</summary>
    public int[] DeliveringView { get; set; } = [];

    public void Deliver(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload)
    {
        var caller = DeliveringView[senderRank];
        if (!RpcWire.TryReadOrderedHeader(payload, out var typeId, out var methodId, out var requestId, out var senderTicks))
        {
            _logger.LogError("Ordered message {Index} from member {Caller} is {Length} bytes, too short for a call header; skipped at every replica", index, caller, payload.Length);
            return;
        }
        var arguments = payload[RpcWire.OrderedHeaderSize..];
        _reply.Reset();
        _reply.Advance(RpcWire.ReplyHeaderSize);
        ReplyStatus status;
        if (typeId == TimeBarrierTypeId)
        {
            Interlocked.Exchange(ref _agreedTicks, Math.Max(_agreedTicks + 1, Math.Clamp(senderTicks, DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks)));
            MemoryPack.MemoryPackSerializer.Serialize(_reply, true);
            status = ReplyStatus.Ok;
        }
        else if (!_replicas.TryGetValue(typeId, out var target))
            status = WriteError(ReplyStatus.UnknownMethod, $"type id {typeId:X8}");
        else
        {
            // The agreed time: the sender's clock, forced monotonic in delivery order, so every replica computes the same.
            Interlocked.Exchange(ref _agreedTicks, Math.Max(_agreedTicks + 1, Math.Clamp(senderTicks, DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks)));
            var delivery = new DeliveryInfo(caller, index, sequence, new DateTime(_agreedTicks, DateTimeKind.Utc), DeliveringViewId);
            target.Context.CurrentDelivery = delivery;
            OrderedContext.Enter(delivery);
            try { status = Dispatch(ordered: true, target.Replica, target.Name, methodId, arguments); }
            finally { OrderedContext.Exit(); }
        }
        SendReply(caller, status, requestId);
    }

    public void OnMessage(int peer, ReadOnlySpan<byte> message)
    {
        if (message.IsEmpty) { _logger.LogWarning("Empty RPC message from member {Peer} ignored", peer); return; }
        switch ((RpcMessageKind)message[0])
        {
            case RpcMessageKind.Reply:
                HandleReply(peer, message);
                break;
            case RpcMessageKind.P2PRequest:
                Enqueue(peer, message);
                break;
            default:
                _logger.LogWarning("RPC message of unknown kind {Kind} from member {Peer} ignored", message[0], peer);
                break;
        }
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
        _reply.Advance(RpcWire.ReplyHeaderSize);
        if (!RpcWire.TryReadP2PHeader(message, out var typeId, out var methodId, out var requestId))
        {
            _logger.LogWarning("P2P request of {Length} bytes from member {Peer} is too short; ignored", message.Length, from);
            return;
        }
        var arguments = message[RpcWire.P2PHeaderSize..];
        var status = _replicas.TryGetValue(typeId, out var target)
            ? Dispatch(ordered: false, target.Replica, target.Name, methodId, arguments)
            : WriteError(ReplyStatus.UnknownMethod, $"type id {typeId:X8}");
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
        _reply.Advance(RpcWire.ReplyHeaderSize);
        var bytes = Encoding.UTF8.GetByteCount(message);
        Encoding.UTF8.GetBytes(message, _reply.GetSpan(bytes));
        _reply.Advance(bytes);
        return status;
    }

    private void SendReply(int caller, ReplyStatus status, long requestId)
    {
        RpcWire.WriteReplyHeader(_reply.WrittenSpanMutable, status, _myId, requestId);
        if (caller == _myId) HandleReply(_myId, _reply.WrittenSpan);
        else _transport!.Send(caller, _reply.WrittenSpan);
    }

    private void HandleReply(int peer, ReadOnlySpan<byte> message)
    {
        if (!RpcWire.TryReadReplyHeader(message, out var status, out var memberId, out var requestId) || memberId != peer)
        {
            _logger.LogWarning("Malformed reply from member {Peer} ignored", peer);
            return;
        }
        if (_pending.TryGetValue(requestId, out var call) && call.OnReply(memberId, status, message[RpcWire.ReplyHeaderSize..]))
            _pending.TryRemove(requestId, out _);
    }
}
