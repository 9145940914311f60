using System.Buffers.Binary;
using System.Diagnostics;
using Derecho.Client;
using Derecho.Errors;
using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Rpc;
using Derecho.Tests.Support;
using Derecho.Wire;

namespace Derecho.Tests.Client;

/// <summary>A replicated type whose ordered calls notify: each notification carries the running count, so a subscriber can check it saw 1, 2, 3, … exactly.</summary>
[Replicated]
[MemoryPack.MemoryPackable]
public partial class Ticker
{
    [MemoryPack.MemoryPackInclude] private long _count;

    /// <summary>Notifies <paramref name="times"/> times on <paramref name="topic"/>, each with the next count.</summary>
    [Ordered]
    public long Tick(string topic, int times)
    {
        for (var i = 0; i < times; i++) OrderedContext.Notify(topic, ++_count);
        return _count;
    }

    /// <summary>Notifies <paramref name="times"/> times with <paramref name="bytes"/>-byte payloads, the count in their first 8 bytes.</summary>
    [Ordered]
    public long Burst(int times, int bytes)
    {
        var payload = new byte[Math.Max(bytes, 8)];
        for (var i = 0; i < times; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(payload, ++_count);
            OrderedContext.Notify("burst", payload);
        }
        return _count;
    }

    [P2PCallable]
    public long Count() => _count;
}

/// <summary>Notifications to external clients: order, topics, resuming, exactly once across a failed member, slow subscribers, gaps.</summary>
public class NotificationTests
{
    private static readonly int[] ThreeIndexes = [0, 1, 2];

    private static Task<InProcessGroup> StartAsync(Action<DerechoOptions>? configure = null) =>
        InProcessGroup.StartAsync(layout: l => l.Subgroup(_ => new Ticker()), configure: configure);

    private static void AssertInOrder(List<Notification<long>> seen)
    {
        for (var i = 1; i < seen.Count; i++)
            Assert.True(seen[i].Version > seen[i - 1].Version || (seen[i].Version == seen[i - 1].Version && seen[i].Index == seen[i - 1].Index + 1),
                $"notification {i} at ({seen[i].Version}, {seen[i].Index}) does not follow ({seen[i - 1].Version}, {seen[i - 1].Index})");
    }

    [Fact]
    public async Task Subscriber_receives_every_notification_once_in_version_order()
    {
        await using var group = await StartAsync();
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var ticker = client.Subgroup<Ticker>();
        await using var notifications = new Reader<long>(ticker.SubscribeAsync<long>());
        var reading = notifications.Take(150);

        for (var i = 0; i < 50; i++) await ticker.Ordered.Tick("t", 3);

        var seen = await reading;
        Assert.Equal(Enumerable.Range(1, 150).Select(i => (long)i), seen.Select(n => n.Value));
        AssertInOrder(seen);
        Assert.All(seen, n => Assert.Equal("t", n.Topic));
        Assert.All(seen, n => Assert.Equal(0, n.Shard));
        Assert.Equal(50, seen.Select(n => n.Version).Distinct().Count());
        Assert.Equal(Enumerable.Repeat(ThreeIndexes, 50).SelectMany(x => x), seen.Select(n => n.Index));
        Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First.Timestamp <= p.Second.Timestamp), "agreed timestamps go back");
    }

    [Fact]
    public async Task A_topic_subscription_gets_that_topic_only_and_all_of_it()
    {
        await using var group = await StartAsync();
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var ticker = client.Subgroup<Ticker>();
        await using var onlyA = new Reader<long>(ticker.SubscribeAsync<long>(topic: "a"));
        await using var all = new Reader<long>(ticker.SubscribeAsync<long>());
        var readingA = onlyA.Take(20);

        for (var i = 0; i < 40; i++) await ticker.Ordered.Tick(i % 2 == 0 ? "a" : "b", 1);

        var everything = await all.Take(40);
        var seenA = await readingA;
        Assert.Equal(everything.Where(n => n.Topic == "a"), seenA);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => 2L * i + 1), seenA.Select(n => n.Value));
    }

    [Fact]
    public async Task Subscribing_after_a_version_gets_exactly_the_rest()
    {
        await using var group = await StartAsync();
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var ticker = client.Subgroup<Ticker>();
        for (var i = 0; i < 30; i++) await ticker.Ordered.Tick("t", 2);
        List<Notification<long>> history;
        await using (var first = new Reader<long>(ticker.SubscribeAsync<long>())) history = await first.Take(60);

        var middle = history[29].Version; // the second notification of the 15th call
        await using var rest = new Reader<long>(ticker.SubscribeAsync<long>(afterVersion: middle));
        var resumed = await rest.Take(30);
        Assert.Equal(history.Skip(30), resumed);

        // And live ones follow the retained ones, with nothing in between.
        await ticker.Ordered.Tick("t", 1);
        var live = await rest.Take(1);
        Assert.Equal(61L, live[0].Value);
    }

    [Fact]
    public async Task Notifications_arrive_exactly_once_in_order_when_the_serving_member_crashes()
    {
        var group = await StartAsync();
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var serving = client.Contact; // the client subscribes at its contact, which holds the only shard
        var producer = group.Members.First(m => m.MyId != serving);
        await using var notifications = new Reader<long>(client.Subgroup<Ticker>().SubscribeAsync<long>());
        var seen = new List<Notification<long>>();

        // The producer, a member that survives, keeps calling through the crash and the view change.
        using var stop = new CancellationTokenSource();
        var calls = Task.Run(async () =>
        {
            var made = 0;
            while (!stop.IsCancellationRequested && made < 400)
            {
                try
                {
                    await producer.Subgroup<Ticker>().Ordered.Tick("t", 2);
                    made++;
                }
                catch (Exception e) when (e is DerechoException or RemoteCallException) { await Task.Delay(10); }
            }
        });
        seen.AddRange(await notifications.Take(100));
        await group.Members[serving].DisposeAsync(); // crash: no goodbye, the connection just breaks
        seen.AddRange(await notifications.Take(100));
        await calls.WaitAsync(TimeSpan.FromSeconds(120));

        var total = await producer.Subgroup<Ticker>().On(producer.MyId).Count();
        seen.AddRange(await notifications.Take((int)total - seen.Count));
        Assert.Equal(Enumerable.Range(1, (int)total).Select(i => (long)i), seen.Select(n => n.Value));
        AssertInOrder(seen);
        Assert.NotEqual(serving, client.Contact);
        await Task.WhenAll(group.Members.Where(m => m.MyId != serving).Select(m => m.ShutdownAsync()));
    }

    [Fact]
    public async Task A_slow_subscriber_is_cut_off_with_the_reason_and_the_shard_keeps_its_pace()
    {
        await using var group = await StartAsync(o =>
        {
            o.MaxNotificationLag = 100;
            o.NotificationRetention = 1500;
            o.NotificationRetentionBytes = 1L << 30;
        });
        var options = group.ClientOptions();
        options.NotificationBuffer = 4;
        await using var slowClient = await DerechoClient.ConnectAsync(options);
        var caller = group.Members[0].Subgroup<Ticker>();

        var baseline = new List<double>();
        for (var i = 0; i < 20; i++) baseline.Add(await Timed(() => caller.Ordered.Burst(1, 8)));

        await using var slow = new Reader<byte[]>(slowClient.Subgroup<Ticker>().SubscribeAsync<byte[]>());
        await slow.Take(1); // subscribed; from now on it reads nothing
        var serving = group.Members.Single(m => m.NotificationSubscriptions == 1);

        var during = new List<double>();
        for (var i = 0; i < 150 && serving.NotificationSubscriptions > 0; i++) during.Add(await Timed(() => caller.Ordered.Burst(10, 32 << 10)));
        await Eventually.True(() => serving.NotificationSubscriptions == 0, "the member to cut the slow subscriber off and free it");
        for (var i = 0; i < 20; i++) during.Add(await Timed(() => caller.Ordered.Burst(1, 8)));

        // The calls never waited for the subscriber: each as quick as before it, give or take a busy machine.
        var median = during.Order().ElementAt(during.Count / 2);
        var usual = baseline.Order().ElementAt(baseline.Count / 2);
        Assert.True(median < 10 * usual + 50, $"calls took {median:0.#} ms (median) with a stalled subscriber against {usual:0.#} ms before");
        Assert.True(during.Max() < 5_000, $"a call took {during.Max():0} ms with a stalled subscriber");

        // Reading again: what was already on its way, then the reason.
        var error = await Assert.ThrowsAsync<SubscriptionEndedException>(async () =>
        {
            while (true) await slow.Take(1);
        });
        Assert.Contains("lagged", error.Message);
        Assert.Contains("MaxNotificationLag", error.Message);
        Assert.Equal(serving.MyId, error.MemberId);
    }

    [Fact]
    public async Task A_member_new_to_the_shard_has_no_history_before_it_and_the_client_resumes_at_one_that_has()
    {
        var group = await StartAsync();
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var ticker = client.Subgroup<Ticker>();
        for (var i = 0; i < 10; i++) await ticker.Ordered.Tick("t", 1);
        List<Notification<long>> before;
        await using (var all = new Reader<long>(ticker.SubscribeAsync<long>())) before = await all.Take(10);

        var options = InProcessGroup.Options(3, group.Ports);
        var port = Ports.Free(1)[0];
        options.Members.Add(new MemberOptions { Id = 3, Endpoint = $"127.0.0.1:{port}" });
        options.Join = true;
        var joiner = await DerechoGroup.JoinAsync(options, l => l.Subgroup(_ => new Ticker()));
        await Eventually.True(() => client.MemberIds.Count == 4, "the client to learn the view with the new member");
        for (var i = 0; i < 5; i++) Assert.Equal(4, (await ticker.Ordered.Tick("t", 1)).Count); // the new member delivers these

        var viaJoiner = group.ClientOptions();
        viaJoiner.Contacts = [new MemberOptions { Id = 3, Endpoint = $"127.0.0.1:{port}" }];
        await using var joinerClient = await DerechoClient.ConnectAsync(viaJoiner);
        Assert.Equal(3, joinerClient.Contact);
        var handle = joinerClient.Subgroup<Ticker>();

        // After value 5: the new member never saw 6..10, so it must send the client to a member that did.
        await using (var resumed = new Reader<long>(handle.SubscribeAsync<long>(afterVersion: before[4].Version)))
            Assert.Equal(Enumerable.Range(6, 10).Select(i => (long)i), (await resumed.Take(10)).Select(n => n.Value));

        // From the oldest it retains: its own history begins with the first call it delivered.
        await using (var own = new Reader<long>(handle.SubscribeAsync<long>()))
            Assert.Equal(Enumerable.Range(11, 5).Select(i => (long)i), (await own.Take(5)).Select(n => n.Value));

        await Task.WhenAll(group.Members.Append(joiner).Select(m => m.ShutdownAsync()));
    }

    [Fact]
    public void Notification_messages_round_trip_and_malformed_ones_are_refused()
    {
        var subscribe = NotificationMessages.Subscribe(7, 0xA1B2C3D4, 2, 5L << 40 | 9, 3, "orders");
        Assert.Equal((byte)38, subscribe[0]);
        Assert.True(NotificationMessages.TryReadSubscribe(subscribe, out var id, out var type, out var shard, out var version, out var index, out var topic));
        Assert.Equal((7L, 0xA1B2C3D4u, 2, 5L << 40 | 9, 3, "orders"), (id, type, shard, version, index, topic));
        Assert.True(NotificationMessages.TryReadSubscribe(NotificationMessages.Subscribe(8, 1, 0, -1, -1, null), out _, out _, out _, out _, out _, out var none));
        Assert.Null(none);
        Assert.False(NotificationMessages.TryReadSubscribe(subscribe.AsSpan(0, 20), out _, out _, out _, out _, out _, out _));

        var batch = new byte[NotificationMessages.BatchHeaderSize + NotificationMessages.EntrySize(1, 2)];
        NotificationMessages.WriteEntry(batch.AsSpan(NotificationMessages.BatchHeaderSize), 42, 1, DateTime.UnixEpoch.Ticks, "t"u8, [9, 8]);
        NotificationMessages.WriteBatchHeader(batch, 7, 1);
        Assert.Equal((byte)39, batch[0]);
        Assert.True(NotificationMessages.TryReadBatch(batch, out var subscription, out var entries));
        Assert.Equal(7, subscription);
        Assert.Equal((42L, 1, DateTime.UnixEpoch.Ticks, "t"), (entries[0].Version, entries[0].Index, entries[0].Ticks, entries[0].Topic));
        Assert.Equal([9, 8], entries[0].Payload.ToArray());
        Assert.False(NotificationMessages.TryReadBatch(batch.AsMemory(0, batch.Length - 1), out _, out _)); // cut short
        Assert.False(NotificationMessages.TryReadBatch(batch.Append((byte)0).ToArray(), out _, out _)); // bytes left over
        BinaryPrimitives.WriteInt32LittleEndian(batch.AsSpan(4), 1000);
        Assert.False(NotificationMessages.TryReadBatch(batch, out _, out _)); // more entries than bytes

        Assert.True(NotificationMessages.TryReadUnsubscribe(NotificationMessages.Unsubscribe(7), out var gone));
        Assert.Equal(7, gone);
        var ended = NotificationMessages.Ended(7, SubscriptionEnd.Lagged, 2, "lagged");
        Assert.Equal((byte)41, ended[0]);
        Assert.True(NotificationMessages.TryReadEnded(ended, out var endedId, out var reason, out var member, out var why));
        Assert.Equal((7L, SubscriptionEnd.Lagged, 2, "lagged"), (endedId, reason, member, why));
        ended[1] = 200;
        Assert.False(NotificationMessages.TryReadEnded(ended, out _, out _, out _, out _));
        Assert.Equal((byte)40, NotificationMessages.Unsubscribe(1)[0]);
        Assert.All(new[] { MessageKind.Subscribe, MessageKind.Notification, MessageKind.Unsubscribe, MessageKind.SubscriptionEnded },
            kind => Assert.Equal(MessageFamily.Client, MessageKinds.FamilyOf((byte)kind)));
    }

    private static async Task<double> Timed(Func<Task> call)
    {
        var started = Stopwatch.GetTimestamp();
        await call();
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    [Fact]
    public async Task A_position_older_than_every_member_retains_ends_with_a_gap_error()
    {
        await using var group = await StartAsync(o => o.NotificationRetention = 10);
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var ticker = client.Subgroup<Ticker>();
        await ticker.Ordered.Tick("t", 1);
        long firstVersion;
        await using (var first = new Reader<long>(ticker.SubscribeAsync<long>())) firstVersion = (await first.Take(1))[0].Version;
        for (var i = 0; i < 30; i++) await ticker.Ordered.Tick("t", 1);

        // Retention keeps the newest 10: from the oldest kept, exactly those.
        await using (var kept = new Reader<long>(ticker.SubscribeAsync<long>()))
            Assert.Equal(Enumerable.Range(22, 10).Select(i => (long)i), (await kept.Take(10)).Select(n => n.Value));

        // After the first call: 2..21 are gone at every member, so the subscription must not start at 22.
        await using var old = new Reader<long>(ticker.SubscribeAsync<long>(afterVersion: firstVersion));
        var error = await Assert.ThrowsAsync<NotificationGapException>(() => old.Take(1));
        Assert.Contains("NotificationRetention", error.Message);
        Assert.Contains($"version {firstVersion}", error.Message);
    }
}

/// <summary>
/// Reads a subscription in steps, failing with a <see cref="TimeoutException"/> rather than hanging; disposing it
/// cancels a read still waiting, so the enumeration ends (and unsubscribes) cleanly.
/// </summary>
internal sealed class Reader<T>(IAsyncEnumerable<Notification<T>> source) : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly CancellationTokenSource _cancel = new();
    private IAsyncEnumerator<Notification<T>>? _enumerator;
    private Task<bool>? _pending;

    /// <summary>The next <paramref name="count"/> notifications; throws what ended the subscription, or a timeout.</summary>
    public async Task<List<Notification<T>>> Take(int count)
    {
        var enumerator = _enumerator ??= source.GetAsyncEnumerator(_cancel.Token);
        var taken = new List<Notification<T>>();
        var deadline = Task.Delay(Patience);
        while (taken.Count < count)
        {
            var next = _pending ??= enumerator.MoveNextAsync().AsTask();
            if (await Task.WhenAny(next, deadline) == deadline) throw new TimeoutException($"only {taken.Count} of {count} notifications arrived within {Patience.TotalSeconds}s");
            _pending = null;
            if (!await next) throw new InvalidOperationException($"the subscription ended after {taken.Count} of {count} notifications");
            taken.Add(enumerator.Current);
        }
        return taken;
    }

    public async ValueTask DisposeAsync()
    {
        await _cancel.CancelAsync();
        if (_pending is { } pending)
        {
            try { await pending; }
            catch (Exception) { } // cancelled, or what ended it: the test has its verdict already
        }
        if (_enumerator is not null) await _enumerator.DisposeAsync();
        _cancel.Dispose();
    }
}
