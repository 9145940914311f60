using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Derecho.Diagnostics;
using Derecho.Internal;
using Derecho.Replication;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Client;

/// <summary>
/// A member's side of notification subscriptions, on one thread of its own ("derecho-notify"): it moves what the
/// protocol thread recorded into each shard's retained ring (<see cref="NotificationFeed"/>), answers subscribe and
/// unsubscribe requests, and sends each subscriber the retained notifications after its position, then the live ones,
/// batched. It never waits for a subscriber: one whose connection has more than a window of bytes queued is skipped
/// until it drains, and one that falls more than <c>MaxNotificationLag</c> notifications behind is cut off. The
/// protocol thread never waits for this thread either: it only enqueues.
/// </summary>
internal sealed class NotificationServer : IDisposable
{
    /// <summary>Bytes queued towards one client above which its subscriptions wait (TCP back-pressure reaches us here).</summary>
    internal const int SendWindowBytes = 1 << 20;
    private const int MaxBatchBytes = 256 << 10;
    private const int MaxBatchCount = 512;

    private readonly int _myId;
    private readonly ReplicaStore _replicas;
    private readonly TcpTransport _transport;
    private readonly int _maxLag;
    private readonly ILogger _logger;
    private readonly Doorbell _bell = new();
    private readonly ConcurrentQueue<Action> _commands = new();
    private readonly Dictionary<(int Client, long Id), Subscription> _subscriptions = new();
    private readonly KeyValuePair<string, object?> _memberTag;
    private readonly Thread _thread;
    private byte[] _frame = ArrayPool<byte>.Shared.Rent(MaxBatchBytes + 4096);
    private volatile bool _stopping;
    private int _count;

    public NotificationServer(int myId, ReplicaStore replicas, TcpTransport transport, int maxLag, ILogger logger)
    {
        _myId = myId;
        _replicas = replicas;
        _transport = transport;
        _maxLag = maxLag;
        _logger = logger;
        _memberTag = MetricTags.ForMember(myId);
        replicas.Notifications.Wake = _bell.Ring;
        _thread = new Thread(Run) { IsBackground = true, Name = $"derecho-notify-{myId}" };
        _thread.Start();
    }

    /// <summary>Subscriptions this member serves now.</summary>
    public int Count => Volatile.Read(ref _count);

    // ---- any thread: requests become commands of the notification thread ----

    public void Subscribe(int client, long id, uint typeId, int shard, long afterVersion, int afterIndex, string? topic) =>
        Post(() => Open(client, id, typeId, shard, afterVersion, afterIndex, topic));

    public void Unsubscribe(int client, long id) => Post(() => Remove(client, id));

    /// <summary>A client went away: its subscriptions end without a word.</summary>
    public void Forget(int client) => Post(() =>
    {
        foreach (var key in _subscriptions.Keys.Where(k => k.Client == client).ToList()) Remove(key.Client, key.Id);
    });

    /// <summary>A view was installed: subscriptions to shards this member left end, so their clients move.</summary>
    public void OnViewInstalled(long viewId) => Post(() =>
    {
        foreach (var sub in _subscriptions.Values.ToList())
            if (WhyNotHeld(sub.Feed.Replica) is { } why) End(sub, SubscriptionEnd.NotHeld, $"{why} in view {viewId}");
    });

    /// <summary>The member leaves: every subscriber is told to move (a crash tells them by the lost connection instead).</summary>
    public Task EndAll(string why)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            foreach (var sub in _subscriptions.Values.ToList()) End(sub, SubscriptionEnd.NotHeld, why);
            done.TrySetResult();
        });
        return done.Task.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    public void Dispose()
    {
        _stopping = true;
        _bell.Ring();
        if (Thread.CurrentThread != _thread) _thread.Join(TimeSpan.FromSeconds(5));
    }

    private void Post(Action command)
    {
        _commands.Enqueue(command);
        _bell.Ring();
    }

    // ---- the notification thread ----

    private void Run()
    {
        try
        {
            while (!_stopping)
            {
                var waiting = Step();
                _bell.Wait(waiting ? 5 : 100);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogError(e, "Member {Id}: the notification thread failed; its subscribers are sent to other members", _myId);
            foreach (var sub in _subscriptions.Values.ToList()) Tell(sub.Client, sub.Id, SubscriptionEnd.NotHeld, $"member {_myId} stopped serving notifications ({e.GetType().Name})");
        }
        finally
        {
            while (_commands.TryDequeue(out _)) { }
            foreach (var feed in _replicas.Notifications.All) feed.Clear();
            ArrayPool<byte>.Shared.Return(_frame);
            _bell.Dispose();
        }
    }

    /// <summary>One round: commands, then every feed, then every subscriber; true if a subscriber waits for its connection to drain.</summary>
    private bool Step()
    {
        while (_commands.TryDequeue(out var command)) command();
        foreach (var feed in _replicas.Notifications.All) feed.Drain();
        if (_subscriptions.Count == 0) return false;
        var waiting = false;
        var sent = 0L;
        foreach (var sub in _subscriptions.Values.ToList()) waiting |= Serve(sub, ref sent);
        if (sent > 0)
        {
            _transport.Flush();
            if (DerechoMetrics.NotificationsSent.Enabled) DerechoMetrics.NotificationsSent.Add(sent, _memberTag);
        }
        return waiting;
    }

    private void Open(int client, long id, uint typeId, int shard, long afterVersion, int afterIndex, string? topic)
    {
        if (_subscriptions.ContainsKey((client, id))) Remove(client, id); // asked again: the new position counts
        var name = _replicas.NameOf(typeId);
        if (!_replicas.HasReplicatedType(typeId) || shard < 0)
        {
            Tell(client, id, SubscriptionEnd.Refused, $"member {_myId} hosts no replicated type {name} with a shard {shard}");
            return;
        }
        var replica = _replicas.TryGetReplica(typeId, shard);
        if ((replica is null ? $"member {_myId} holds no replica of shard {shard} of {name}" : WhyNotHeld(replica)) is { } notHeld)
        {
            Tell(client, id, SubscriptionEnd.NotHeld, notHeld);
            return;
        }
        var feed = _replicas.Notifications.For(replica!);
        feed.Drain();
        if (afterVersion != NotificationMessages.Oldest && WhyGap(feed, afterVersion, afterIndex) is { } gap)
        {
            Tell(client, id, SubscriptionEnd.Gap, gap);
            return;
        }
        var cursor = afterVersion == NotificationMessages.Oldest ? feed.First : feed.SequenceAfter(afterVersion, afterIndex);
        _subscriptions[(client, id)] = new Subscription(client, id, feed, topic, afterVersion, afterIndex, cursor, feed.Next, feed.Epoch);
        feed.Subscribers++;
        Volatile.Write(ref _count, _subscriptions.Count);
        DerechoMetrics.Subscriptions.Add(1, _memberTag);
    }

    /// <summary>Why this member cannot serve every notification after the position, or null if it can.</summary>
    private string? WhyGap(NotificationFeed feed, long version, int index)
    {
        var replica = feed.Replica;
        var from = feed.HistoryFrom;
        if (from == ShardReplica.NoHistory)
            return $"member {_myId} has delivered no call of shard {replica.Shard} of {replica.Name} since it got the shard's state, so it has no notifications from before; "
                + $"the position asked for ({Position(version, index)}) may be older";
        if (from != ShardReplica.FromTheStart && version < from)
            return $"member {_myId} has the notifications of shard {replica.Shard} of {replica.Name} only from version {from} (it got the shard's state then); "
                + $"the position asked for ({Position(version, index)}) is older";
        var dropped = feed.Dropped;
        if (version < dropped.Version || (version == dropped.Version && index < dropped.Index))
            return $"member {_myId} retains the notifications of shard {replica.Shard} of {replica.Name} only after {Position(dropped.Version, dropped.Index)} "
                + $"(Derecho:NotificationRetention); the position asked for ({Position(version, index)}) is older";
        return null;
    }

    private static string Position(long version, int index) => index == int.MaxValue ? $"version {version}, every index" : $"version {version}, index {index}";

    private string? WhyNotHeld(ShardReplica replica)
    {
        if (Array.IndexOf(replica.Context.MembersArray, _myId) < 0) return $"member {_myId} no longer holds shard {replica.Shard} of {replica.Name}";
        return replica.HasState ? null : $"member {_myId} is still loading the state of shard {replica.Shard} of {replica.Name}";
    }

    /// <summary>Sends what the subscriber has not had yet; true if its connection is too full to take more now.</summary>
    private bool Serve(Subscription sub, ref long sent)
    {
        var feed = sub.Feed;
        if (sub.Epoch != feed.Epoch)
        {
            End(sub, SubscriptionEnd.NotHeld, $"member {_myId} lost and regained the state of shard {feed.Replica.Shard} of {feed.Replica.Name}; its history restarted");
            return false;
        }
        if (sub.Cursor < feed.First)
        {
            Cut(sub, $"lagged behind the retention (Derecho:NotificationRetention): {feed.First - sub.Cursor} notifications were dropped before it could be sent them; cut off");
            return false;
        }
        var waiting = false;
        while (sub.Cursor < feed.Next)
        {
            if (_transport.QueuedBytes(sub.Client) > SendWindowBytes)
            {
                waiting = true;
                break;
            }
            if (!SendBatch(sub, ref sent)) return false;
        }
        // Only what arrived after it subscribed counts: its backlog is bounded by the retention, which cuts it off above.
        var lag = feed.Next - Math.Max(sub.Cursor, sub.OpenedAt);
        if (lag > _maxLag)
        {
            Cut(sub, $"lagged {lag} notifications behind (Derecho:MaxNotificationLag is {_maxLag}); cut off");
            return false;
        }
        return waiting;
    }

    /// <summary>Sends one batch of the subscriber's next notifications (those of its topic after its position); false if the client is gone.</summary>
    private bool SendBatch(Subscription sub, ref long sent)
    {
        var feed = sub.Feed;
        var at = NotificationMessages.BatchHeaderSize;
        var count = 0;
        Span<byte> topic = stackalloc byte[NotificationMessages.MaxTopicBytes];
        while (sub.Cursor < feed.Next && count < MaxBatchCount)
        {
            ref readonly var record = ref feed.At(sub.Cursor);
            if ((sub.Topic is not null && sub.Topic != record.Topic) || !record.IsAfter(sub.AfterVersion, sub.AfterIndex))
            {
                sub.Cursor++;
                continue;
            }
            var topicBytes = Encoding.UTF8.GetBytes(record.Topic, topic);
            var size = NotificationMessages.EntrySize(topicBytes, record.Length);
            if (count > 0 && at + size > MaxBatchBytes) break;
            if (at + size > _frame.Length) Grow(at + size);
            NotificationMessages.WriteEntry(_frame.AsSpan(at, size), record.Version, record.Index, record.Ticks, topic[..topicBytes], record.Payload.AsSpan(0, record.Length));
            at += size;
            count++;
            sub.Cursor++;
        }
        if (count == 0) return true;
        NotificationMessages.WriteBatchHeader(_frame, sub.Id, count);
        try { _transport.Send(sub.Client, _frame.AsSpan(0, at)); }
        catch (InvalidOperationException) // the client is no peer any more
        {
            Remove(sub.Client, sub.Id);
            return false;
        }
        sent += count;
        return true;
    }

    private void Grow(int needed)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(needed);
        _frame.AsSpan().CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_frame);
        _frame = bigger;
    }

    private void Cut(Subscription sub, string why)
    {
        _logger.LogWarning("Member {Id}: subscription {Subscription} of client {Client} to shard {Shard} of {Type} {Why}",
            _myId, sub.Id, sub.Client, sub.Feed.Replica.Shard, sub.Feed.Replica.Name, why);
        DerechoMetrics.SubscriptionCutOffs.Add(1, _memberTag);
        End(sub, SubscriptionEnd.Lagged, why);
    }

    private void End(Subscription sub, SubscriptionEnd reason, string why)
    {
        Remove(sub.Client, sub.Id);
        Tell(sub.Client, sub.Id, reason, why);
    }

    private void Remove(int client, long id)
    {
        if (!_subscriptions.Remove((client, id), out var removed)) return;
        removed.Feed.Subscribers--;
        Volatile.Write(ref _count, _subscriptions.Count);
        DerechoMetrics.Subscriptions.Add(-1, _memberTag);
    }

    private void Tell(int client, long id, SubscriptionEnd reason, string why)
    {
        try
        {
            _transport.Send(client, NotificationMessages.Ended(id, reason, _myId, why));
            _transport.Flush();
        }
        catch (InvalidOperationException) { } // gone: nobody to tell
    }

    /// <summary>One subscriber's place: the next sequence number of the feed to look at, and the position it asked to start after.</summary>
    private sealed class Subscription(int client, long id, NotificationFeed feed, string? topic, long afterVersion, int afterIndex, long cursor, long openedAt, int epoch)
    {
        public int Client { get; } = client;
        public long Id { get; } = id;
        public NotificationFeed Feed { get; } = feed;
        public string? Topic { get; } = topic;
        public long AfterVersion { get; } = afterVersion;
        public int AfterIndex { get; } = afterIndex;
        public long Cursor { get; set; } = cursor;
        public long OpenedAt { get; } = openedAt;
        public int Epoch { get; } = epoch;
    }
}
