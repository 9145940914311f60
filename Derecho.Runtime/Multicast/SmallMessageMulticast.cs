using Derecho.Diagnostics;
using Derecho.Errors;
using Derecho.Sst;
using Derecho.Transport;

namespace Derecho.Multicast;

/// <summary>
/// Small-message multicast over the SST (Derecho's SMC). Each sender owns a ring; it writes a message
/// into its next slot and bumps its own received counter. Receivers count what arrived and publish one
/// counter per sender. Message k of sender i has global sequence k·n + i (round-robin order); it is
/// stable, and delivered, once every row has received it. Senders that fall behind the round fill it
/// with null messages. Delivery and acknowledgement are per batch: one counter update covers everything
/// that arrived since the last loop iteration (receiver-side batching).
/// </summary>
internal sealed unsafe class SmallMessageMulticast : IDisposable
{
    private readonly SharedStateTable _sst;
    private readonly ShardColumns _columns;
    private readonly int[] _ranks;
    private readonly int _myRow;
    private readonly RegionKind _region;
    private readonly ITransport _transport;
    private readonly IDeliveryHandler _handler;
    private readonly int[] _memberIds;
    private readonly int _n;
    private readonly int _me;
    private readonly long _capacity;
    private readonly NativeRegion[] _rings;
    private readonly long[] _deliverCursor;
    private readonly object _sendLock = new();
    private readonly MetricTags _tags;
    private readonly IDisposable _ringObservation;

    // Sender state. _writePos/_sentCount are written under _sendLock; the loop reads them lock-free
    // (count first, then position: position is published before count, so it always covers the count).
    private long _writePos;
    private long _sentCount;
    private long _freePos;
    private long _freeIndex;
    private long _freeCursor;
    private long _pushedPos;
    private bool _stopped;
    private bool _wedged;
    private bool _trimmed;
    private string? _stopReason;

    /// <summary>
    /// Creates the multicast of shard <paramref name="shard"/> (global number) of a view: its members are the
    /// SST rows <paramref name="shardRanks"/>, in shard order, and this member is one of them. Its metrics carry
    /// <paramref name="tags"/> (default: this member, type "multicast", shard <paramref name="shard"/>).
    /// </summary>
    public SmallMessageMulticast(SharedStateTable sst, int shard, int[] shardRanks, ITransport transport, MulticastOptions options, IDeliveryHandler handler,
        MetricTags tags = default)
    {
        var problem = options.Validate();
        if (problem is not null) throw new ArgumentException(problem, nameof(options));
        _sst = sst;
        _columns = sst.Layout.Shard(shard);
        if (_columns.Size != shardRanks.Length) throw new ArgumentException($"shard {shard} has {_columns.Size} columns for {shardRanks.Length} members", nameof(shardRanks));
        _ranks = shardRanks;
        _myRow = sst.MyRank;
        _region = Regions.Ring(shard);
        Shard = shard;
        _transport = transport;
        _handler = handler;
        _memberIds = shardRanks.Select(r => sst.MemberIds[r]).ToArray();
        _n = _memberIds.Length;
        _me = Array.IndexOf(shardRanks, sst.MyRank);
        if (_me < 0) throw new ArgumentException($"this member (row {sst.MyRank}) is not in shard {shard}", nameof(shardRanks));
        _capacity = options.RingBytes;
        MaxPayloadBytes = options.MaxPayloadBytes;
        _rings = new NativeRegion[_n];
        _deliverCursor = new long[_n];
        for (var r = 0; r < _n; r++)
        {
            _rings[r] = new NativeRegion(_capacity);
            if (r != _me) transport.RegisterInbound(_memberIds[r], _region, sst.Epoch, _rings[r], 0, _capacity, wordAtomic: false);
        }
        _tags = tags.Member.Key is null ? new MetricTags(_memberIds[_me], "multicast", shard) : tags;
        _ringObservation = DerechoMetrics.Rings.Add(ReportRingOccupancy);
    }

    /// <summary>Fraction of our ring holding messages not yet delivered everywhere (read off the protocol thread: a snapshot).</summary>
    public double RingOccupancy => (double)(Volatile.Read(ref _writePos) - Volatile.Read(ref _freePos)) / _capacity;

    private void ReportRingOccupancy(List<System.Diagnostics.Metrics.Measurement<double>> measurements) =>
        measurements.Add(new(RingOccupancy, _tags.Member, _tags.Type, _tags.Shard));

    /// <summary>Global number of the shard this multicast orders.</summary>
    public int Shard { get; }

    /// <summary>This member's sender index in the shard.</summary>
    public int MyIndex => _me;

    /// <summary>
    /// While set, nothing is delivered (messages are still received and acknowledged): a member new to the
    /// shard waits for the shard's state before it applies updates on top of it.
    /// </summary>
    public bool AwaitingState
    {
        get => Volatile.Read(ref _awaitingState);
        set => Volatile.Write(ref _awaitingState, value);
    }

    private bool _awaitingState;

    /// <summary>Largest payload <see cref="Send"/> accepts.</summary>
    public int MaxPayloadBytes { get; }

    /// <summary>Application messages delivered so far.</summary>
    public long DeliveredMessages { get; private set; }

    /// <summary>Delivery steps that delivered at least one message (messages / batches = batch size).</summary>
    public long DeliveryBatches { get; private set; }

    /// <summary>Messages (data and null) this member has put into its ring.</summary>
    public long SentCount => Volatile.Read(ref _sentCount);

    /// <summary>Called after a message is queued so the protocol loop pushes it.</summary>
    public Action? OnQueued { get; set; }

    /// <summary>
    /// Queues a message for totally ordered delivery at every member. Blocks while this sender's ring is
    /// full (back-pressure: the slowest receiver paces the senders) and throws once the multicast stopped.
    /// For raw multicast; ordered calls use <see cref="TrySend"/> and queue what does not fit, so no caller blocks.
    /// </summary>
    public void Send(ReadOnlySpan<byte> payload)
    {
        if (!SendUnlessWedged(payload)) throw new ViewChangedException("multicast is wedged for a view change");
    }

    /// <summary>As <see cref="Send"/>, but returns false instead of sending once this view is wedged (resend in the next view).</summary>
    public bool SendUnlessWedged(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxPayloadBytes)
            throw new ArgumentException($"message of {payload.Length} bytes exceeds MaxPayloadBytes {MaxPayloadBytes}", nameof(payload));
        lock (_sendLock)
        {
            while (!TryAppend(RingEntryKind.Data, payload))
            {
                if (_wedged) return false;
                if (_stopped) throw new MemberStoppedException(_memberIds[_me], $"multicast stopped: {_stopReason}");
                Monitor.Wait(_sendLock, 100);
            }
        }
        OnQueued?.Invoke();
        return true;
    }

    /// <summary>Queues a message without waiting for ring space (for re-sends into a fresh view); false if it does not fit.</summary>
    internal bool TrySendNow(ReadOnlySpan<byte> payload)
    {
        lock (_sendLock) return TryAppend(RingEntryKind.Data, payload);
    }

    /// <summary>Queues a message if it fits now (no waiting: for threads that must not block) and wakes the protocol loop.</summary>
    internal bool TrySend(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxPayloadBytes || !TrySendNow(payload)) return false;
        OnQueued?.Invoke();
        return true;
    }

    /// <summary>Why the multicast stopped (leave, failure, disposal), or null while it runs.</summary>
    public string? StopReason
    {
        get
        {
            lock (_sendLock) return _stopped ? _stopReason : null;
        }
    }

    /// <summary>Whether <see cref="Wedge"/> was called.</summary>
    public bool IsWedged => Volatile.Read(ref _wedged);

    /// <summary>
    /// Stops sending, acknowledging and delivering in this view (data and nulls) for a view change: the
    /// received counters are final from here, which is what makes the ragged trim cover every delivery.
    /// </summary>
    public void Wedge()
    {
        lock (_sendLock)
        {
            _wedged = true;
            Monitor.PulseAll(_sendLock);
        }
    }

    /// <summary>
    /// Ends the view: delivers, in round-robin order, every message k of sender j with k &lt; trim[j] not yet
    /// delivered, skipping the gaps of senders whose tail was trimmed. Every surviving member calls it with the
    /// same trim, so all deliver the same sequence. Normal delivery stops for good.
    /// </summary>
    public void DeliverUpToTrim(ReadOnlySpan<long> trim)
    {
        if (trim.Length != _n) throw new ArgumentException($"trim has {trim.Length} entries for {_n} senders", nameof(trim));
        long maxRounds = 0;
        for (var j = 0; j < _n; j++)
        {
            if (trim[j] > _sst.Get(_myRow, _columns.Received(j)))
                throw new InvalidOperationException($"ragged trim asks for {trim[j]} messages of sender {j} of shard {Shard} but only {_sst.Get(_myRow, _columns.Received(j))} arrived here");
            maxRounds = Math.Max(maxRounds, trim[j]);
        }
        var delivered = _sst.Get(_myRow, _columns.Delivered);
        var messages = 0L;
        var bytes = 0L;
        for (var seq = delivered; seq / _n < maxRounds; seq++)
        {
            var sender = (int)(seq % _n);
            var index = seq / _n;
            if (index >= trim[sender]) continue;
            var kind = RingEntry.Read(_rings[sender].Pointer, _capacity, ref _deliverCursor[sender], index, out var payload);
            if (kind != RingEntryKind.Data) continue;
            if (AwaitingState) _handler.Skip(sender, index, seq, payload);
            else _handler.Deliver(sender, index, seq, payload);
            messages++;
            bytes += payload.Length;
        }
        _trimmed = true;
        DeliveredMessages += messages;
        if (messages > 0)
        {
            DeliveryBatches++;
            DerechoMetrics.RecordDelivery(_tags, messages, bytes);
        }
        _sst.Set(_columns.Delivered, Math.Max(delivered, maxRounds * _n));
    }

    /// <summary>Own data messages the trim cut off (index &gt;= trim of our rank), in send order, for re-sending in the next view.</summary>
    public List<byte[]> TakeUndelivered(long ownTrim)
    {
        var result = new List<byte[]>();
        var cursor = _deliverCursor[_me];
        var sent = Volatile.Read(ref _sentCount);
        for (var index = ownTrim; index < sent; index++)
        {
            var kind = RingEntry.Read(_rings[_me].Pointer, _capacity, ref cursor, index, out var payload);
            if (kind == RingEntryKind.Data) result.Add(payload.ToArray());
        }
        return result;
    }

    /// <summary>Refuses further sends (leave or failure) and wakes blocked senders.</summary>
    public void Stop(string reason)
    {
        lock (_sendLock)
        {
            if (_stopped) return;
            _stopped = true;
            _stopReason = reason;
            Monitor.PulseAll(_sendLock);
        }
    }

    /// <summary>The protocol's predicates, in the order they must run.</summary>
    public IEnumerable<(string Name, PredicateLoop.Step Step)> Predicates()
    {
        yield return ("receive", ReceiveStep);
        yield return ("null-send", NullSendStep);
        yield return ("publish-own", PublishOwnStep);
        yield return ("deliver", DeliverStep);
        yield return ("reclaim", ReclaimStep);
    }

    /// <summary>When a sender's row shows more messages than ours records, count them as received: one update per batch.</summary>
    private bool ReceiveStep()
    {
        // Frozen once wedged: the row pushed with the wedge flag carries this member's final counts, so the
        // leader's trim (min over rows after all wedged) covers everything any member delivered.
        if (Volatile.Read(ref _wedged)) return false;
        var progress = false;
        for (var j = 0; j < _n; j++)
        {
            if (j == _me) continue;
            var sent = _sst.Get(_ranks[j], _columns.Received(j));
            if (sent > _sst.Get(_myRow, _columns.Received(j)))
            {
                _sst.Set(_columns.Received(j), sent);
                progress = true;
            }
        }
        return progress;
    }

    /// <summary>When another sender is ahead of us in the round and we have nothing queued, fill with nulls.</summary>
    private bool NullSendStep()
    {
        if (_wedged) return false;
        long ahead = 0;
        for (var j = 0; j < _n; j++) ahead = Math.Max(ahead, _sst.Get(_myRow, _columns.Received(j)));
        if (Volatile.Read(ref _sentCount) >= ahead) return false;
        var progress = false;
        lock (_sendLock)
        {
            while (_sentCount < ahead && TryAppend(RingEntryKind.Null, default)) progress = true;
        }
        return progress;
    }

    /// <summary>Pushes ring bytes written since the last push, then records our own count (the row push follows them).</summary>
    private bool PublishOwnStep()
    {
        if (Volatile.Read(ref _wedged)) return false; // unpublished entries are trimmed and re-sent in the next view
        var count = Volatile.Read(ref _sentCount);
        var position = Volatile.Read(ref _writePos);
        if (position > _pushedPos)
        {
            PushRing(_pushedPos, position);
            _pushedPos = position;
        }
        if (count == _sst.Get(_myRow, _columns.Received(_me))) return false;
        _sst.Set(_columns.Received(_me), count);
        return true;
    }

    /// <summary>Delivers, in round-robin order, every sequence number that every row has received.</summary>
    private bool DeliverStep()
    {
        // Once wedged, only the ragged trim delivers: the leader computes it from what rows showed after the
        // wedge, so anything delivered here afterwards could lie beyond the trim and be missing elsewhere.
        if (_trimmed || AwaitingState || Volatile.Read(ref _wedged)) return false;
        var delivered = _sst.Get(_myRow, _columns.Delivered);
        var bound = long.MaxValue;
        for (var j = 0; j < _n; j++)
            bound = Math.Min(bound, _sst.Min(_columns.Received(j), _ranks) * _n + j);
        if (bound <= delivered) return false;

        var messages = 0L;
        var bytes = 0L;
        for (var seq = delivered; seq < bound; seq++)
        {
            var sender = (int)(seq % _n);
            var index = seq / _n;
            var kind = RingEntry.Read(_rings[sender].Pointer, _capacity, ref _deliverCursor[sender], index, out var payload);
            if (kind != RingEntryKind.Data) continue;
            _handler.Deliver(sender, index, seq, payload);
            messages++;
            bytes += payload.Length;
        }
        _sst.Set(_columns.Delivered, bound);
        if (messages > 0)
        {
            DeliveredMessages += messages;
            DeliveryBatches++;
            DerechoMetrics.RecordDelivery(_tags, messages, bytes);
        }
        return true;
    }

    /// <summary>Frees our ring space for messages every member has delivered, and wakes blocked senders.</summary>
    private bool ReclaimStep()
    {
        var everyoneDelivered = _sst.Min(_columns.Delivered, _ranks);
        var sent = Volatile.Read(ref _sentCount);
        var freed = false;
        var ring = _rings[_me].Pointer;
        while (_freeIndex < sent && _freeIndex * _n + _me < everyoneDelivered)
        {
            RingEntry.Read(ring, _capacity, ref _freeCursor, _freeIndex, out _);
            _freeIndex++;
            freed = true;
        }
        if (!freed) return false;
        lock (_sendLock)
        {
            _freePos = _freeCursor;
            Monitor.PulseAll(_sendLock);
        }
        return true;
    }

    /// <summary>Writes one entry into our ring if it fits; caller holds <see cref="_sendLock"/>.</summary>
    private bool TryAppend(RingEntryKind kind, ReadOnlySpan<byte> payload)
    {
        if (_wedged || (_stopped && kind == RingEntryKind.Data)) return false;
        var size = RingEntry.SizeOf(payload.Length);
        var position = _writePos;
        var offset = position % _capacity;
        var padding = _capacity - offset < size ? _capacity - offset : 0;
        if (position + padding + size - _freePos > _capacity) return false;

        var ring = _rings[_me].Pointer;
        if (padding > 0)
        {
            if (padding >= RingEntry.HeaderSize) RingEntry.WriteHeader(ring + offset, 0, RingEntryKind.Wrap, -1);
            position += padding;
            offset = 0;
        }
        RingEntry.WriteHeader(ring + offset, payload.Length, kind, _sentCount);
        payload.CopyTo(new Span<byte>(ring + offset + RingEntry.HeaderSize, payload.Length));
        Volatile.Write(ref _writePos, position + size);
        Volatile.Write(ref _sentCount, _sentCount + 1);
        return true;
    }

    private void PushRing(long from, long to)
    {
        while (from < to)
        {
            var offset = from % _capacity;
            var length = (int)Math.Min(to - from, _capacity - offset);
            // Ring bytes stay untouched until every member delivered them, so the transport may send them in place.
            for (var r = 0; r < _n; r++)
                if (r != _me) _transport.WriteStable(_memberIds[r], _region, _sst.Epoch, offset, _rings[_me].Pointer + offset, length);
            from += length;
        }
    }

    /// <summary>Stops, and frees each peer's ring once the transport can no longer copy into it.</summary>
    public void Dispose()
    {
        _ringObservation.Dispose();
        Stop("disposed");
        for (var r = 0; r < _n; r++)
        {
            if (r != _me) _transport.UnregisterInbound(_rings[r]);
            _rings[r].Dispose();
        }
    }
}
