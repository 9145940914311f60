using System.ComponentModel;
using Derecho.Layout;
using Derecho.Wire;

namespace Derecho.Rpc;

/// <summary>
/// Access to one replicated subgroup. The generated extension methods on <see cref="Ordered"/> and
/// <see cref="On"/> are the typed proxy: <c>await counter.Ordered.Add(5)</c>, <c>await counter.On(2).Read()</c>.
/// A sharded subgroup takes ordered calls per shard: <c>kv.Shard(1).Ordered.Put(…)</c> or <c>kv.ShardFor(key)</c>.
/// </summary>
public sealed class SubgroupHandle<T> where T : class, IReplicatedType
{
    private readonly IRpcInvoker _engine;

    internal SubgroupHandle(IRpcInvoker engine) => _engine = engine;

    /// <summary>Ordered calls to the subgroup's only shard; a sharded subgroup needs <see cref="Shard"/> or <see cref="ShardFor(string)"/>.</summary>
    public OrderedHandle<T> Ordered => ShardCount == 1 ? new(_engine, 0)
        : throw new InvalidOperationException($"{typeof(T).FullName} has {ShardCount} shards: pick one with Shard(i) or ShardFor(key)");

    /// <summary>The notifications of the subgroup's only shard (see <see cref="ShardHandle{T}.SubscribeAsync{TPayload}"/>); a sharded subgroup needs <see cref="Shard"/>.</summary>
    public IAsyncEnumerable<Notification<TPayload>> SubscribeAsync<TPayload>(string? topic = null, long afterVersion = -1, CancellationToken cancellationToken = default) =>
        ShardCount == 1 ? new ShardHandle<T>(_engine, 0).SubscribeAsync<TPayload>(topic, afterVersion, cancellationToken)
            : throw new InvalidOperationException($"{typeof(T).FullName} has {ShardCount} shards: subscribe to one with Shard(i)");

    /// <summary>P2P calls to one member (its replica of the first shard of this type it holds).</summary>
    public P2PHandle<T> On(int memberId) => new(_engine, memberId, -1);

    /// <summary>Trigger calls to one member of the subgroup's only shard; a sharded subgroup needs <see cref="Shard"/> or <see cref="ShardFor(string)"/>.</summary>
    public TriggerHandle<T> Trigger => ShardCount == 1 ? new(_engine, 0)
        : throw new InvalidOperationException($"{typeof(T).FullName} has {ShardCount} shards: pick one with Shard(i) or ShardFor(key)");

    /// <summary>Number of shards of this subgroup.</summary>
    public int ShardCount => Subgroup.Shards.Length;

    /// <summary>Shard <paramref name="index"/>; a clear error names the valid range.</summary>
    public ShardHandle<T> Shard(int index)
    {
        var count = ShardCount;
        if ((uint)index >= (uint)count)
            throw new ArgumentOutOfRangeException(nameof(index), $"{typeof(T).FullName} has {count} shard(s); there is no shard {index}");
        return new ShardHandle<T>(_engine, index);
    }

    /// <summary>The shard that owns <paramref name="key"/> (XxHash64 of its UTF-8 bytes, stable across processes).</summary>
    public ShardHandle<T> ShardFor(string key) => new(_engine, ShardKey.ShardOf(key, ShardCount));

    /// <summary>The shard that owns an integer key.</summary>
    public ShardHandle<T> ShardFor(long key) => new(_engine, ShardKey.ShardOf(key, ShardCount));

    /// <summary>Every member holding a replica of any shard, in rank order.</summary>
    public IReadOnlyList<int> Members
    {
        get
        {
            var shards = Subgroup.Shards;
            return _engine.MemberIds.Where(id => shards.Any(s => Array.IndexOf(s, id) >= 0)).ToArray();
        }
    }

    private SubgroupLayout Subgroup => _engine.Layout.Find(T.ReplicatedTypeId)
        ?? throw new InvalidOperationException($"{typeof(T).FullName} is not in this group's layout");
}

/// <summary>One shard of a subgroup: ordered calls ordered within it, P2P calls to its members.</summary>
public sealed class ShardHandle<T> where T : class, IReplicatedType
{
    private readonly IRpcInvoker _engine;

    internal ShardHandle(IRpcInvoker engine, int index)
    {
        _engine = engine;
        Index = index;
    }

    /// <summary>The shard's index in its subgroup.</summary>
    public int Index { get; }

    /// <summary>Ordered calls: multicast to every replica of the shard, one reply per replica.</summary>
    public OrderedHandle<T> Ordered => new(_engine, Index);

    /// <summary>P2P calls to one member of the shard.</summary>
    public P2PHandle<T> On(int memberId) => new(_engine, memberId, Index);

    /// <summary>
    /// Trigger calls: each event goes to one member of the shard (the same one while the shard's members stay the
    /// same, so one sender's events keep their order), unordered and unstored, batched with other events to that member.
    /// </summary>
    public TriggerHandle<T> Trigger => new(_engine, Index);

    /// <summary>Members of the shard in the current view, in rank order.</summary>
    public IReadOnlyList<int> Members => _engine.Layout.MembersOf(T.ReplicatedTypeId, Index);

    /// <summary>
    /// The shard's notifications (<see cref="OrderedContext.Notify{T}(string, T)"/>), from an external client: those a
    /// member retains after <paramref name="afterVersion"/> (-1: from the oldest it retains), then every new one, in the
    /// shard's delivery order, each exactly once, also when the member serving them fails (the client resumes at
    /// another member of the shard). <paramref name="topic"/> null: every topic. Payloads are read with MemoryPack as
    /// <typeparamref name="TPayload"/>. The enumeration throws a <see cref="Errors.NotificationGapException"/> if no member
    /// still has every notification after the position, and a <see cref="Errors.SubscriptionEndedException"/> if the
    /// subscriber fell more than Derecho:MaxNotificationLag behind. Stopping the enumeration unsubscribes.
    /// </summary>
    public IAsyncEnumerable<Notification<TPayload>> SubscribeAsync<TPayload>(string? topic = null, long afterVersion = -1, CancellationToken cancellationToken = default)
    {
        if (afterVersion < -1) throw new ArgumentOutOfRangeException(nameof(afterVersion), "a version, or -1 for the oldest notification a member retains");
        if (topic is not null && System.Text.Encoding.UTF8.GetByteCount(topic) > OrderedContext.MaxTopicBytes)
            throw new ArgumentException($"a notification topic may have at most {OrderedContext.MaxTopicBytes} UTF-8 bytes", nameof(topic));
        return _engine.Subscribe<TPayload>(T.ReplicatedTypeId, Index, topic, afterVersion, cancellationToken);
    }
}

/// <summary>Target of generated ordered-call stubs. Not for direct use.</summary>
public readonly struct OrderedHandle<T> where T : class, IReplicatedType
{
    private readonly IRpcInvoker _engine;
    private readonly int _shard;

    internal OrderedHandle(IRpcInvoker engine, int shard)
    {
        _engine = engine;
        _shard = shard;
    }

    /// <summary>Starts a request: a buffer with room for the call header; write the arguments after it.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public PooledBufferWriter BeginCall() => RequestBuffers.Rent(_engine.OrderedHeaderSize);

    /// <summary>
    /// Multicasts the call and returns every replica's reply. Cancelling stops the wait, not the call:
    /// once sent, an ordered call is applied by every replica.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public Task<QueryResults<TResult>> Invoke<TResult>(uint methodId, PooledBufferWriter request, CancellationToken cancellationToken = default)
    {
        try
        {
            if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<QueryResults<TResult>>(cancellationToken);
            var replies = _engine.InvokeOrdered<TResult>(T.ReplicatedTypeId, _shard, methodId, request);
            return cancellationToken.CanBeCanceled ? replies.WaitAsync(cancellationToken) : replies;
        }
        finally { RequestBuffers.Return(request); }
    }

    /// <summary>As <see cref="Invoke{TResult}"/> for methods without a result.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public async Task<QueryResults> InvokeVoid(uint methodId, PooledBufferWriter request, CancellationToken cancellationToken = default) =>
        await Invoke<bool>(methodId, request, cancellationToken).ConfigureAwait(false);
}

/// <summary>
/// P2P calls to one member: <c>await kv.Shard(0).On(2).Count()</c>. With <see cref="AtTime"/> the member answers
/// from its state at a past time, the same answer every replica of the shard gives, at any later moment.
/// </summary>
public readonly struct P2PHandle<T> where T : class, IReplicatedType
{
    private readonly IRpcInvoker _engine;
    private readonly int _shard;
    private readonly ReadTime _readAt;

    internal P2PHandle(IRpcInvoker engine, int memberId, int shard, ReadTime readAt = default)
    {
        _engine = engine;
        MemberId = memberId;
        _shard = shard;
        _readAt = readAt;
    }

    /// <summary>The member the call goes to.</summary>
    public int MemberId { get; }

    /// <summary>The time the call reads at (null: the current state).</summary>
    public DateTime? ReadTime => _readAt.IsNow ? null : new DateTime(_readAt.Ticks, DateTimeKind.Utc);

    /// <summary>
    /// Calls that read the shard as it was at <paramref name="time"/>: the member waits until its shard's stable time
    /// frontier passed <paramref name="time"/> (moving it with a time barrier when the shard is idle), then runs the
    /// handler with every versioned field read at that time (<see cref="TemporalContext"/>). One such call per shard at
    /// the same time is a consistent snapshot of all shards, taken with no lock. With <paramref name="failFast"/> a time
    /// the frontier has not passed fails at once with a <see cref="Errors.TimeNotStableException"/>.
    /// </summary>
    public P2PHandle<T> AtTime(DateTime time, bool failFast = false)
    {
        var utc = time.Kind == DateTimeKind.Unspecified
            ? throw new ArgumentException("the time's Kind is Unspecified: say whether it is UTC or local", nameof(time))
            : time.ToUniversalTime();
        if (utc.Ticks <= 0) throw new ArgumentOutOfRangeException(nameof(time), "a temporal read needs a time after 0001-01-01");
        return new(_engine, MemberId, _shard, new ReadTime(utc.Ticks, failFast));
    }

    /// <summary>Starts a request: a buffer with room for the call header; write the arguments after it.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public PooledBufferWriter BeginCall() => RequestBuffers.Rent(RpcHeaders.P2PHeaderSize);

    /// <summary>Sends the call to <see cref="MemberId"/> and returns its reply; cancelling stops the wait.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public Task<TResult> Invoke<TResult>(uint methodId, PooledBufferWriter request, CancellationToken cancellationToken = default)
    {
        try
        {
            if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<TResult>(cancellationToken);
            var reply = _engine.InvokeP2P<TResult>(MemberId, T.ReplicatedTypeId, _shard, methodId, request, _readAt);
            return cancellationToken.CanBeCanceled ? reply.WaitAsync(cancellationToken) : reply;
        }
        finally { RequestBuffers.Return(request); }
    }

    /// <summary>As <see cref="Invoke{TResult}"/> for methods without a result.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public Task InvokeVoid(uint methodId, PooledBufferWriter request, CancellationToken cancellationToken = default) =>
        Invoke<bool>(methodId, request, cancellationToken);
}

/// <summary>Target of generated trigger-call stubs. Not for direct use.</summary>
public readonly struct TriggerHandle<T> where T : class, IReplicatedType
{
    private readonly IRpcInvoker _engine;
    private readonly int _shard;

    internal TriggerHandle(IRpcInvoker engine, int shard)
    {
        _engine = engine;
        _shard = shard;
    }

    /// <summary>Starts an event: a buffer with room for the event header; write the arguments after it.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public PooledBufferWriter BeginCall() => RequestBuffers.Rent(TriggerMessages.EventHeaderSize);

    /// <summary>
    /// Queues the event for a member of the shard; the task completes when that member accepted it (events of one
    /// batch share one task) and faults with a <see cref="Errors.TriggerNotAcceptedException"/> when it did not.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public Task Invoke(uint methodId, PooledBufferWriter request)
    {
        try
        {
            return _engine.InvokeTrigger(T.ReplicatedTypeId, _shard, methodId, request);
        }
        finally { RequestBuffers.Return(request); }
    }
}

/// <summary>One request buffer per thread: stubs fill and send it without awaiting, so it is never shared.</summary>
internal static class RequestBuffers
{
    [ThreadStatic] private static PooledBufferWriter? t_cached;

    public static PooledBufferWriter Rent(int headerSize)
    {
        var buffer = t_cached ?? new PooledBufferWriter();
        t_cached = null;
        buffer.Reset();
        buffer.GetSpan(headerSize)[..headerSize].Clear();
        buffer.Advance(headerSize);
        return buffer;
    }

    public static void Return(PooledBufferWriter buffer) => t_cached = buffer;
}
