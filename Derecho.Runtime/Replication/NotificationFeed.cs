using System.Buffers;
using System.Collections.Concurrent;
using Derecho.Diagnostics;

namespace Derecho.Replication;

/// <summary>One recorded notification: its place (version, index), agreed time, topic and payload (a pooled array).</summary>
internal readonly record struct NotificationRecord(long Version, int Index, long Ticks, string Topic, byte[] Payload, int Length, long HistoryFrom)
{
    /// <summary>Whether this notification comes after position (<paramref name="version"/>, <paramref name="index"/>).</summary>
    public bool IsAfter(long version, int index) => Version > version || (Version == version && Index > index);
}

/// <summary>
/// One shard's recent notifications at this member. The protocol thread only appends to a lock-free queue (one copy
/// into a pooled array, no lock shared with subscribers); the notification thread (<c>Client/NotificationServer</c>)
/// owns everything else: it moves the queue into a bounded ring, drops the oldest beyond the retention, and serves
/// subscribers from the ring. Created the first time the shard notifies or is subscribed to: a type that never
/// notifies costs nothing.
/// </summary>
internal sealed class NotificationFeed(ShardReplica replica, int capacity, long maxBytes, Action wake)
{
    private readonly ConcurrentQueue<NotificationRecord> _incoming = new();
    private readonly MetricTags _tags = new(replica.Context.MyId, replica.Name, replica.Shard);
    private NotificationRecord[] _ring = [];
    private long _bytes;
    private long _historyFrom = ShardReplica.NoHistory;
    private volatile int _subscribers;
    private int _unannounced; // protocol thread: records since the last wake
    private readonly List<NotificationRecord> _staged = new(); // protocol thread: the notifications of the handler running

    public ShardReplica Replica => replica;

    // ---- protocol thread ----

    /// <summary>Records one notification of the call being delivered (protocol thread): a copy, held until the handler returns.</summary>
    public void Stage(long version, int index, long ticks, string topic, ReadOnlySpan<byte> payload, long historyFrom)
    {
        var copy = payload.IsEmpty ? [] : ArrayPool<byte>.Shared.Rent(payload.Length);
        payload.CopyTo(copy);
        _staged.Add(new NotificationRecord(version, index, ticks, topic, copy, payload.Length, historyFrom));
    }

    /// <summary>The handler returned (<paramref name="applied"/>): its notifications go out, in order. It threw: they are dropped.</summary>
    public void Complete(bool applied)
    {
        if (_staged.Count == 0) return;
        foreach (var record in _staged)
        {
            if (applied) _incoming.Enqueue(record);
            else if (record.Length > 0) ArrayPool<byte>.Shared.Return(record.Payload);
        }
        var staged = _staged.Count;
        _staged.Clear();
        if (!applied) return;
        // Someone waits for them: wake the notification thread now. Nobody does: let records gather (it drains them
        // every 100 ms anyway), waking it once per batch, so a shard nobody watches does not cost a thread switch per call.
        if (_subscribers > 0 || (_unannounced += staged) >= 256)
        {
            _unannounced = 0;
            wake();
        }
    }

    /// <summary>Subscriptions reading this feed now (set by the notification thread).</summary>
    public int Subscribers
    {
        get => _subscribers;
        set => _subscribers = value;
    }

    // ---- notification thread only from here on ----

    /// <summary>Sequence number of the oldest retained notification (numbers only grow, across histories too).</summary>
    public long First { get; private set; }

    /// <summary>Sequence number the next notification will get: the ring holds [<see cref="First"/>, <see cref="Next"/>).</summary>
    public long Next { get; private set; }

    /// <summary>The newest notification dropped from this history (by retention); positions up to it cannot be served.</summary>
    public (long Version, int Index) Dropped { get; private set; } = (long.MinValue, int.MinValue);

    /// <summary>Increases whenever this member's history of the shard restarts (it lost and regained the shard's state).</summary>
    public int Epoch { get; private set; }

    /// <summary>Where this member's history of the shard begins (see <see cref="ShardReplica.NotificationsFrom"/>).</summary>
    public long HistoryFrom => _historyFrom;

    public ref readonly NotificationRecord At(long sequence) => ref _ring[sequence % _ring.Length];

    /// <summary>Moves what the protocol thread recorded into the ring; returns how many. A restarted history first empties the ring.</summary>
    public int Drain()
    {
        var from = replica.NotificationsFrom;
        if (from != _historyFrom)
        {
            while (Next > First) DropOldest(); // what is queued is sorted out below, by the history it was recorded in
            _historyFrom = from;
            Dropped = (long.MinValue, int.MinValue);
            Epoch++;
        }
        var moved = 0;
        while (_incoming.TryDequeue(out var record))
        {
            if (record.HistoryFrom != from) // recorded before the history restarted
            {
                Return(record);
                continue;
            }
            if (_ring.Length == 0) _ring = new NotificationRecord[capacity];
            while (Next - First >= _ring.Length || (Next > First && _bytes + record.Length > maxBytes)) DropOldest();
            _ring[Next % _ring.Length] = record;
            _bytes += record.Length;
            Next++;
            moved++;
        }
        if (moved > 0 && DerechoMetrics.NotificationsEmitted.Enabled) DerechoMetrics.NotificationsEmitted.Add(moved, _tags.Member, _tags.Type, _tags.Shard);
        return moved;
    }

    /// <summary>The sequence number of the first retained notification after position (<paramref name="version"/>, <paramref name="index"/>).</summary>
    public long SequenceAfter(long version, int index)
    {
        long low = First, high = Next;
        while (low < high)
        {
            var middle = low + (high - low) / 2;
            if (At(middle).IsAfter(version, index)) high = middle;
            else low = middle + 1;
        }
        return low;
    }

    /// <summary>Returns every pooled payload (the member closes, or the history restarted).</summary>
    public void Clear()
    {
        while (Next > First) DropOldest();
        while (_incoming.TryDequeue(out var record)) Return(record);
    }

    private void DropOldest()
    {
        ref var oldest = ref _ring[First % _ring.Length];
        Dropped = (oldest.Version, oldest.Index);
        _bytes -= oldest.Length;
        Return(oldest);
        oldest = default;
        First++;
    }

    private static void Return(in NotificationRecord record)
    {
        if (record.Payload.Length > 0) ArrayPool<byte>.Shared.Return(record.Payload);
    }
}

/// <summary>Every shard's <see cref="NotificationFeed"/> at this member, created on first use.</summary>
internal sealed class NotificationFeeds(int capacity, long maxBytes)
{
    private readonly ConcurrentDictionary<(uint TypeId, int Shard), NotificationFeed> _feeds = new();
    private readonly object _gate = new();
    private volatile NotificationFeed[] _all = [];
    private Action _wake = () => { };

    /// <summary>Called when a feed has something new (the notification thread's doorbell).</summary>
    public Action Wake
    {
        get => Volatile.Read(ref _wake);
        set => Volatile.Write(ref _wake, value);
    }

    /// <summary>Every feed created so far.</summary>
    public NotificationFeed[] All => _all;

    public NotificationFeed For(ShardReplica replica)
    {
        if (_feeds.TryGetValue((replica.TypeId, replica.Shard), out var feed)) return feed;
        lock (_gate)
        {
            if (_feeds.TryGetValue((replica.TypeId, replica.Shard), out feed)) return feed;
            feed = new NotificationFeed(replica, capacity, maxBytes, () => Wake());
            _feeds[(replica.TypeId, replica.Shard)] = feed;
            _all = [.. _all, feed];
            return feed;
        }
    }
}
