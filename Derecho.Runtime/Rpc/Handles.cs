using Derecho.Rpc;

namespace Derecho;

/// <summary>
/// Access to one replicated subgroup. The generated extension methods on <see cref="Ordered"/> and
/// <see cref="On"/> are the typed proxy: <c>await counter.Ordered.Add(5)</c>, <c>await counter.On(2).Read()</c>.
/// </summary>
public sealed class SubgroupHandle<T> where T : class, IReplicatedType
{
    private readonly IRpcInvoker _engine;

    internal SubgroupHandle(IRpcInvoker engine) => _engine = engine;

    /// <summary>Ordered calls: multicast to every replica, one reply per replica.</summary>
    public OrderedHandle<T> Ordered => new(_engine);

    /// <summary>P2P calls to one member.</summary>
    public P2PHandle<T> On(int memberId) => new(_engine, memberId);

    /// <summary>Members holding a replica, in rank order.</summary>
    public IReadOnlyList<int> Members => _engine.MemberIds;
}

/// <summary>Target of generated ordered-call stubs. Not for direct use.</summary>
public readonly struct OrderedHandle<T> where T : class, IReplicatedType
{
    private readonly IRpcInvoker _engine;

    internal OrderedHandle(IRpcInvoker engine) => _engine = engine;

    /// <summary>Starts a request: a buffer with room for the call header; write the arguments after it.</summary>
    public PooledBufferWriter BeginCall() => RequestBuffers.Rent(RpcWire.OrderedHeaderSize);

    /// <summary>
    /// Multicasts the call and returns every replica's reply. Cancelling stops the wait, not the call:
    /// once sent, an ordered call is applied by every replica.
    /// </summary>
    public Task<QueryResults<TResult>> Invoke<TResult>(uint methodId, PooledBufferWriter request, CancellationToken cancellationToken = default)
    {
        try
        {
            if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<QueryResults<TResult>>(cancellationToken);
            var replies = _engine.InvokeOrdered<TResult>(T.ReplicatedTypeId, methodId, request);
            return cancellationToken.CanBeCanceled ? replies.WaitAsync(cancellationToken) : replies;
        }
        finally { RequestBuffers.Return(request); }
    }

    /// <summary>As <see cref="Invoke{TResult}"/> for methods without a result.</summary>
    public async Task<QueryResults> InvokeVoid(uint methodId, PooledBufferWriter request, CancellationToken cancellationToken = default) =>
        await Invoke<bool>(methodId, request, cancellationToken).ConfigureAwait(false);
}

/// <summary>Target of generated P2P-call stubs. Not for direct use.</summary>
public readonly struct P2PHandle<T> where T : class, IReplicatedType
{
    private readonly IRpcInvoker _engine;

    internal P2PHandle(IRpcInvoker engine, int memberId)
    {
        _engine = engine;
        MemberId = memberId;
    }

    /// <summary>The member the call goes to.</summary>
    public int MemberId { get; }

    /// <summary>Starts a request: a buffer with room for the call header; write the arguments after it.</summary>
    public PooledBufferWriter BeginCall() => RequestBuffers.Rent(RpcWire.P2PHeaderSize);

    /// <summary>Sends the call to <see cref="MemberId"/> and returns its reply; cancelling stops the wait.</summary>
    public Task<TResult> Invoke<TResult>(uint methodId, PooledBufferWriter request, CancellationToken cancellationToken = default)
    {
        try
        {
            if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<TResult>(cancellationToken);
            var reply = _engine.InvokeP2P<TResult>(MemberId, T.ReplicatedTypeId, methodId, request);
            return cancellationToken.CanBeCanceled ? reply.WaitAsync(cancellationToken) : reply;
        }
        finally { RequestBuffers.Return(request); }
    }

    /// <summary>As <see cref="Invoke{TResult}"/> for methods without a result.</summary>
    public Task InvokeVoid(uint methodId, PooledBufferWriter request, CancellationToken cancellationToken = default) =>
        Invoke<bool>(methodId, request, cancellationToken);
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
