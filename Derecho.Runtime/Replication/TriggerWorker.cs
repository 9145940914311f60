using System.Buffers;
using System.Collections.Concurrent;
using Derecho.Diagnostics;
using Derecho.Internal;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Replication;

/// <summary>
/// The member side of trigger calls: a batch (from a client, another member or this member) is accepted whole
/// into per-replica queues, or refused whole; handlers run later on the thread pool, one event at a time per
/// replica, never on the protocol thread. Back-pressure, with bytes queued across replicas bounded by
/// <see cref="Hosting.DerechoOptions.MaxTriggerQueueBytes"/> (the soft limit):
/// <list type="bullet">
/// <item>under it, a batch is acknowledged as soon as it is queued;</item>
/// <item>over it, a batch is still queued but its acknowledgement waits until the queue drains under the limit, so
/// the sender's window fills and it stops sending (the handlers set the pace);</item>
/// <item>over twice the limit (too many senders at once), a batch is refused as overloaded: nothing is queued.</item>
/// </list>
/// A handler that throws, an unknown method or malformed arguments are logged (the first per sender, then counted)
/// and counted, never fatal.
/// </summary>
internal sealed class TriggerWorker
{
    private readonly int _myId;
    private readonly ReplicaStore _replicas;
    private readonly long _maxQueuedBytes;
    private readonly ILogger _logger;
    private readonly PeerWarnings _warnings;
    private readonly ConcurrentDictionary<ShardReplica, ReplicaQueue> _queues = new();
    private readonly Queue<(int Peer, byte[] Ack)> _deferred = new(); // locked on itself
    private readonly Transport.ITransport _transport;
    private readonly KeyValuePair<string, object?> _memberTag;
    private long _queuedBytes;
    private int _deferredCount;
    private long _batches;
    private long _received;
    private long _handled;
    private long _failed;
    private volatile bool _stopped;

    public TriggerWorker(int myId, ReplicaStore replicas, long maxQueuedBytes, Transport.ITransport transport, ILogger logger)
    {
        _transport = transport;
        _myId = myId;
        _replicas = replicas;
        _maxQueuedBytes = maxQueuedBytes;
        _logger = logger;
        _warnings = new PeerWarnings($"Member {myId} (trigger handlers)", logger);
        _memberTag = MetricTags.ForMember(myId);
    }

    /// <summary>Batches received (accepted or refused).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Events accepted into the queues.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Events whose handler completed.</summary>
    public long Handled => Interlocked.Read(ref _handled);

    /// <summary>Events whose handler threw, whose method was unknown or whose arguments were malformed.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Accepted batches whose acknowledgement waits for the queue to drain.</summary>
    public int DeferredAcks
    {
        get => Volatile.Read(ref _deferredCount);
    }

    /// <summary>Bytes accepted and not yet handled.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>
    /// Accepts a <see cref="MessageKind.TriggerBatch"/> from <paramref name="from"/> whole, or refuses it whole (the
    /// status and reason say why), and acknowledges it to <paramref name="from"/>: at once, or (over the soft limit)
    /// once the queue drained. Never waits; transport threads call it.
    /// </summary>
    public void AcceptAndAcknowledge(int from, ReadOnlySpan<byte> message)
    {
        var (status, reason, batch, events) = Accept(from, message, mayDefer: true, out var deferred);
        if (deferred) return;
        SendAck(from, TriggerMessages.Ack(batch, status, events, reason));
    }

    /// <summary>Accepts or refuses a batch; <paramref name="deferred"/>: accepted, and its acknowledgement will be sent when the queue drains.</summary>
    public (ReplyStatus Status, string? Reason, long Batch, int Events) Accept(int from, ReadOnlySpan<byte> message, bool mayDefer, out bool deferred)
    {
        deferred = false;
        Interlocked.Increment(ref _batches);
        if (!TriggerMessages.TryReadBatch(message, out var batch, out var events))
        {
            if (_warnings.ShouldLog(from)) _logger.LogWarning("Member {Id}: malformed trigger batch ({Length} bytes) from {Peer} refused", _myId, message.Length, from);
            return Refused(ReplyStatus.MalformedRequest, $"malformed trigger batch of {message.Length} bytes", batch, 0);
        }
        if (_stopped) return Refused(ReplyStatus.Overloaded, $"member {_myId} is stopping", batch, events.Length);
        var targets = new ShardReplica[events.Length];
        for (var i = 0; i < events.Length; i++)
        {
            var e = events[i];
            var target = i > 0 && events[i - 1].TypeId == e.TypeId && events[i - 1].Shard == e.Shard ? targets[i - 1] : _replicas.TryGetReplica(e.TypeId, e.Shard);
            if (target is null || Array.IndexOf(target.Context.MembersArray, _myId) < 0)
                return Refused(ReplyStatus.UnknownMethod, $"member {_myId} holds no replica of shard {e.Shard} of {_replicas.NameOf(e.TypeId)}", batch, events.Length);
            if (!target.HasState)
                return Refused(ReplyStatus.NotApplied, $"member {_myId} is still loading the state of shard {e.Shard} of {target.Name}", batch, events.Length);
            targets[i] = target;
        }
        if (events.Length == 0) return (ReplyStatus.Ok, null, batch, 0);
        var bytes = message.Length;
        var queued = Interlocked.Add(ref _queuedBytes, bytes);
        if (queued > 2 * _maxQueuedBytes && queued != bytes) // an empty queue takes any one batch
        {
            Interlocked.Add(ref _queuedBytes, -bytes);
            return Refused(ReplyStatus.Overloaded,
                $"member {_myId} is overloaded: {queued - bytes} bytes of trigger events wait for their handlers (MaxTriggerQueueBytes {_maxQueuedBytes}, refused beyond twice that)", batch, events.Length);
        }
        if (queued > _maxQueuedBytes && mayDefer)
        {
            lock (_deferred)
            {
                _deferred.Enqueue((from, TriggerMessages.Ack(batch, ReplyStatus.Ok, events.Length)));
                Volatile.Write(ref _deferredCount, _deferred.Count);
            }
            deferred = true;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(bytes);
        message.CopyTo(buffer);
        var shared = new SharedBatch(this, buffer, bytes, events.Length);
        ReplicaQueue? last = null;
        for (var i = 0; i < events.Length; i++)
        {
            var queue = _queues.GetOrAdd(targets[i], static (replica, worker) => new ReplicaQueue(worker, replica), this);
            queue.Items.Enqueue(new Item(shared, from, events[i].MethodId, events[i].Offset, events[i].Length));
            if (last is not null && !ReferenceEquals(last, queue)) last.Kick();
            last = queue;
        }
        last!.Kick();
        if (deferred && Interlocked.Read(ref _queuedBytes) <= _maxQueuedBytes) Drained(); // the handlers caught up meanwhile
        Interlocked.Add(ref _received, events.Length);
        if (DerechoMetrics.TriggerBatches.Enabled) DerechoMetrics.TriggerBatches.Add(1, _memberTag);
        if (DerechoMetrics.TriggerEvents.Enabled) DerechoMetrics.TriggerEvents.Add(events.Length, _memberTag, DerechoMetrics.TriggerReceived);
        return (ReplyStatus.Ok, null, batch, events.Length);
    }

    /// <summary>The member stops: queued events are dropped (they were accepted, not handled), new batches refused.</summary>
    public void Stop() => _stopped = true;

    /// <summary>The queue drained under the soft limit: acknowledge every batch whose acknowledgement waited.</summary>
    private void Drained()
    {
        while (true)
        {
            (int Peer, byte[] Ack) next;
            lock (_deferred)
            {
                if (_deferred.Count == 0 || Interlocked.Read(ref _queuedBytes) > _maxQueuedBytes) return;
                next = _deferred.Dequeue();
                Volatile.Write(ref _deferredCount, _deferred.Count);
            }
            SendAck(next.Peer, next.Ack);
        }
    }

    /// <summary>Sends an acknowledgement; a sender that went away costs a log line, not the member.</summary>
    private void SendAck(int peer, byte[] ack)
    {
        try
        {
            _transport.Send(peer, ack);
            _transport.Flush();
        }
        catch (InvalidOperationException e)
        {
            if (_warnings.ShouldLog(peer)) _logger.LogWarning("Member {Id} cannot acknowledge trigger events to {Peer}: {Reason}", _myId, peer, e.Message);
        }
    }

    private (ReplyStatus, string?, long, int) Refused(ReplyStatus status, string reason, long batch, int events)
    {
        if (DerechoMetrics.TriggerBatches.Enabled) DerechoMetrics.TriggerBatches.Add(1, _memberTag);
        if (events > 0 && DerechoMetrics.TriggerEvents.Enabled) DerechoMetrics.TriggerEvents.Add(events, _memberTag, DerechoMetrics.TriggerRefused);
        return (status, reason, batch, 0);
    }

    /// <summary>Starts one event's handler; null when it failed at once (counted and logged here).</summary>
    private ValueTask? Start(ShardReplica replica, in Item item)
    {
        try
        {
            var started = replica.Replica.DispatchTrigger(item.MethodId, item.Batch.Buffer.AsSpan(item.Offset, item.Length));
            if (started is null) HandlerFailed(replica, item, null, $"{replica.Name} has no trigger method with id {item.MethodId:X8}");
            return started;
        }
        catch (MemoryPack.MemoryPackSerializationException e)
        {
            HandlerFailed(replica, item, null, $"malformed arguments: {e.Message}");
        }
        catch (Exception e)
        {
            HandlerFailed(replica, item, e, "the handler threw");
        }
        finally
        {
            item.Batch.Release(); // arguments are read by now
        }
        return null;
    }

    private void HandlerFailed(ShardReplica replica, in Item item, Exception? error, string what)
    {
        Interlocked.Increment(ref _failed);
        if (_warnings.ShouldLog(item.From))
            _logger.LogWarning(error, "Member {Id}: trigger event {Method:X8} for shard {Shard} of {Type} from {Sender} failed ({What}); counted, the member goes on",
                _myId, item.MethodId, replica.Shard, replica.Name, item.From, what);
    }

    private readonly record struct Item(SharedBatch Batch, int From, uint MethodId, int Offset, int Length);

    /// <summary>One accepted batch's bytes, shared by its events; returned to the pool (and the bound) after the last.</summary>
    private sealed class SharedBatch(TriggerWorker owner, byte[] buffer, int bytes, int events)
    {
        private int _remaining = events;

        public byte[] Buffer => buffer;

        public void Release()
        {
            if (Interlocked.Decrement(ref _remaining) != 0) return;
            var queued = Interlocked.Add(ref owner._queuedBytes, -bytes);
            ArrayPool<byte>.Shared.Return(buffer);
            if (queued <= owner._maxQueuedBytes && Volatile.Read(ref owner._deferredCount) > 0) owner.Drained();
        }
    }

    /// <summary>One replica's events, run one at a time by at most one thread-pool loop.</summary>
    private sealed class ReplicaQueue(TriggerWorker owner, ShardReplica replica)
    {
        private readonly MetricTags _tags = new(owner._myId, replica.Name, replica.Shard);
        private int _running;

        public ConcurrentQueue<Item> Items { get; } = new();

        public void Kick()
        {
            if (Interlocked.CompareExchange(ref _running, 1, 0) == 0)
                ThreadPool.UnsafeQueueUserWorkItem(static q => _ = q.RunAsync(), this, preferLocal: false);
        }

        private async Task RunAsync()
        {
            while (true)
            {
                long handled = 0, failed = 0;
                while (Items.TryDequeue(out var item))
                {
                    if (owner._stopped)
                    {
                        item.Batch.Release();
                        continue;
                    }
                    if (owner.Start(replica, item) is not { } pending)
                    {
                        failed++;
                        continue;
                    }
                    try
                    {
                        await pending.ConfigureAwait(false);
                        handled++;
                        Interlocked.Increment(ref owner._handled);
                    }
                    catch (Exception e)
                    {
                        failed++;
                        owner.HandlerFailed(replica, item, e, "the handler's task faulted");
                    }
                }
                if (handled > 0 && DerechoMetrics.TriggerEvents.Enabled) DerechoMetrics.TriggerEvents.Add(handled, _tags.Member, _tags.Type, DerechoMetrics.TriggerHandled);
                if (failed > 0 && DerechoMetrics.TriggerEvents.Enabled) DerechoMetrics.TriggerEvents.Add(failed, _tags.Member, _tags.Type, DerechoMetrics.TriggerFailed);
                Volatile.Write(ref _running, 0);
                if (Items.IsEmpty || Interlocked.CompareExchange(ref _running, 1, 0) != 0) return;
            }
        }
    }
}
