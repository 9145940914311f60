using System.Text;
using Derecho.Diagnostics;
using Derecho.Errors;
using Derecho.Wire;
using MemoryPack;

namespace Derecho.Rpc;

/// <summary>A call waiting for replies. Replies arrive on transport or protocol threads.</summary>
internal abstract class PendingCall
{
    /// <summary>The replicated type and shard an ordered call went to (retargeted to the shard's new members on a view change).</summary>
    public uint TypeId { get; init; }

    /// <summary>See <see cref="TypeId"/>.</summary>
    public int Shard { get; init; }

    /// <summary>When the call started, for its duration metric (0 when nobody listens: then it is not timed).</summary>
    public long StartedAt { get; } = DerechoMetrics.StartTiming(DerechoMetrics.CallDuration);

    /// <summary>The call's kind tag for <see cref="DerechoMetrics.CallDuration"/>; null for calls not timed (one relayed for someone else).</summary>
    public virtual KeyValuePair<string, object?> Kind => default;

    /// <summary>Records a reply; returns true once the call is complete.</summary>
    public abstract bool OnReply(int memberId, ReplyStatus status, ReadOnlySpan<byte> payload);

    /// <summary>Ends the call with an error (member failure, shutdown).</summary>
    public abstract void Fail(Exception error);

    /// <summary>A new view: <paramref name="departed"/> will never reply. Returns true if that completed the call.</summary>
    public virtual bool OnViewChange(IReadOnlyCollection<int> departed, int[] members, bool resent) => false;

    /// <summary>
    /// The call went into a view whose shard has <paramref name="members"/> (it waited out a view change, or was
    /// held while the view was inadequate): those are the replicas that will answer. Returns true if complete.
    /// </summary>
    public virtual bool Retarget(int[] members) => false;

    protected static Exception ErrorFrom(int memberId, ReplyStatus status, ReadOnlySpan<byte> payload) => status switch
    {
        ReplyStatus.HandlerFailed => new RemoteCallException(memberId, $"handler threw {Encoding.UTF8.GetString(payload)}"),
        ReplyStatus.UnknownMethod => new RemoteCallException(memberId, $"unknown replicated type or method: {Encoding.UTF8.GetString(payload)}"),
        ReplyStatus.MalformedRequest => new RemoteCallException(memberId, $"request could not be read: {Encoding.UTF8.GetString(payload)}"),
        ReplyStatus.Unauthorized => new UnauthorizedCallException(memberId, Encoding.UTF8.GetString(payload)),
        ReplyStatus.NotYetStable => new TimeNotStableException(memberId, Encoding.UTF8.GetString(payload)),
        ReplyStatus.RelayFailed => new RemoteCallException(memberId, $"the relaying member could not complete the call, which may or may not have been applied: {Encoding.UTF8.GetString(payload)}"),
        ReplyStatus.SessionExpired => new RemoteCallException(memberId, $"the call may or may not have been applied: {Encoding.UTF8.GetString(payload)}"),
        _ => new RemoteCallException(memberId, $"unknown reply status {(int)status}"),
    };
}

/// <summary>
/// A call answered by every replica expected to deliver it. A view change removes departed members from
/// that set (a call delivered before the trim is answered by the survivors) or, for a call the trim cut off
/// and that was re-sent, replaces it with the new view's members.
/// </summary>
internal abstract class PendingReplicaSetCall<TReply>(int[] memberIds) : PendingCall where TReply : struct
{
    private readonly Dictionary<int, TReply?> _replies = memberIds.ToDictionary(id => id, _ => (TReply?)null);
    // Replies from members not expected (yet): a call retargeted to a new shard membership may hear from them first.
    private readonly Dictionary<int, TReply> _unexpected = new();

    public sealed override bool OnReply(int memberId, ReplyStatus status, ReadOnlySpan<byte> payload)
    {
        lock (_replies)
        {
            if (!_replies.TryGetValue(memberId, out var existing))
            {
                if (status != ReplyStatus.NotApplied) _unexpected.TryAdd(memberId, Record(memberId, status, payload));
                return false;
            }
            if (existing is not null) return false;
            if (status == ReplyStatus.NotApplied)
            {
                // That replica did not apply the call (it was loading the shard's state): the others answer for it.
                _replies.Remove(memberId);
                return TryComplete();
            }
            _replies[memberId] = Record(memberId, status, payload);
            return TryComplete();
        }
    }

    public sealed override bool Retarget(int[] members)
    {
        lock (_replies)
        {
            if (members.Length == _replies.Count && members.All(_replies.ContainsKey)) return false;
            var known = new Dictionary<int, TReply>(_unexpected);
            foreach (var (id, reply) in _replies)
                if (reply is not null) known[id] = reply.Value;
            _replies.Clear();
            foreach (var id in members) _replies[id] = known.TryGetValue(id, out var reply) ? reply : null;
            return TryComplete();
        }
    }

    public sealed override bool OnViewChange(IReadOnlyCollection<int> departed, int[] members, bool resent)
    {
        lock (_replies)
        {
            if (resent)
            {
                _replies.Clear();
                foreach (var id in members) _replies[id] = null;
                return false;
            }
            foreach (var id in departed)
                if (_replies.TryGetValue(id, out var reply) && reply is null) _replies.Remove(id);
            return TryComplete();
        }
    }

    /// <summary>Turns one member's reply into what the call keeps (called under the call's lock).</summary>
    protected abstract TReply Record(int memberId, ReplyStatus status, ReadOnlySpan<byte> payload);

    /// <summary>Every expected member replied: complete with the replies in member-id order.</summary>
    protected abstract void Complete(int[] memberIds, TReply[] replies);

    private bool TryComplete()
    {
        // Runs once per reply: no LINQ, one array when complete.
        foreach (var reply in _replies.Values)
            if (reply is null) return false;
        var ids = new int[_replies.Count];
        var replies = new TReply[_replies.Count];
        var i = 0;
        foreach (var (id, reply) in _replies)
        {
            ids[i] = id;
            replies[i++] = reply!.Value;
        }
        Array.Sort(ids, replies);
        Complete(ids, replies);
        return true;
    }
}

/// <summary>An ordered call made by this member: every replica's reply, decoded.</summary>
internal sealed class PendingOrderedCall<T>(int[] memberIds) : PendingReplicaSetCall<Reply<T>>(memberIds)
{
    public override KeyValuePair<string, object?> Kind => DerechoMetrics.OrderedCall;

    private readonly TaskCompletionSource<QueryResults<T>> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Exception? _error;

    public Task<QueryResults<T>> Task => _completion.Task;

    public override void Fail(Exception error) => _completion.TrySetException(error);

    protected override Reply<T> Record(int memberId, ReplyStatus status, ReadOnlySpan<byte> payload)
    {
        if (status != ReplyStatus.Ok)
        {
            _error ??= ErrorFrom(memberId, status, payload);
            return new Reply<T>(memberId, default!);
        }
        try { return new Reply<T>(memberId, MemoryPackSerializer.Deserialize<T>(payload)!); }
        catch (MemoryPackSerializationException e)
        {
            _error ??= new RemoteCallException(memberId, $"reply could not be read: {e.Message}");
            return new Reply<T>(memberId, default!);
        }
    }

    protected override void Complete(int[] memberIds, Reply<T>[] replies)
    {
        if (_error is not null) _completion.TrySetException(_error);
        else _completion.TrySetResult(new QueryResults<T>(memberIds, replies));
    }
}

/// <summary>A P2P call: complete with the one member's reply.</summary>
internal sealed class PendingP2PCall<T>(int memberId) : PendingCall
{
    public override KeyValuePair<string, object?> Kind => DerechoMetrics.P2PCall;

    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Task => _completion.Task;

    public override bool OnReply(int replyingMember, ReplyStatus status, ReadOnlySpan<byte> payload)
    {
        if (replyingMember != memberId) return false;
        if (status != ReplyStatus.Ok) { _completion.TrySetException(ErrorFrom(replyingMember, status, payload)); return true; }
        try { _completion.TrySetResult(MemoryPackSerializer.Deserialize<T>(payload)!); }
        catch (MemoryPackSerializationException e) { _completion.TrySetException(new RemoteCallException(memberId, $"reply could not be read: {e.Message}")); }
        return true;
    }

    public override bool OnViewChange(IReadOnlyCollection<int> departed, int[] members, bool resent)
    {
        if (!departed.Contains(memberId)) return false;
        _completion.TrySetException(new RemoteCallException(memberId, "left the group before replying"));
        return true;
    }

    public override void Fail(Exception error) => _completion.TrySetException(error);
}

/// <summary>An ordered call multicast by another member (a shard member relaying for a client or a member outside the shard).</summary>
internal interface IRelayedCall
{
    /// <summary>The member multicasting the call.</summary>
    int Via { get; }

    /// <summary>Every replica's raw reply, at once.</summary>
    void Complete(IReadOnlyList<RawReply> replies);
}

/// <summary>An ordered call relayed by a shard member: it completes with every replica's reply, decoded here.</summary>
internal sealed class PendingRelayedCall<T>(int via) : PendingCall, IRelayedCall
{
    public override KeyValuePair<string, object?> Kind => DerechoMetrics.RelayedCall;

    private readonly TaskCompletionSource<QueryResults<T>> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<QueryResults<T>> Task => _completion.Task;

    public int Via => via;

    public void Complete(IReadOnlyList<RawReply> replies)
    {
        try
        {
            var failed = replies.FirstOrDefault(r => r.Status != ReplyStatus.Ok);
            if (failed.Payload is not null)
            {
                _completion.TrySetException(ErrorFrom(failed.MemberId, failed.Status, failed.Payload));
                return;
            }
            var typed = replies.Select(r => new Reply<T>(r.MemberId, MemoryPackSerializer.Deserialize<T>(r.Payload)!)).ToArray();
            _completion.TrySetResult(new QueryResults<T>(typed.Select(r => r.MemberId).ToArray(), typed));
        }
        catch (MemoryPackSerializationException e)
        {
            _completion.TrySetException(new RemoteCallException(-1, $"a relayed reply could not be read: {e.Message}"));
        }
    }

    public override bool OnReply(int memberId, ReplyStatus status, ReadOnlySpan<byte> payload) => false;

    public override void Fail(Exception error) => _completion.TrySetException(error);
}

/// <summary>An ordered call relayed for an external client: every replica's reply travels on undecoded.</summary>
internal sealed class PendingRelayCall(int[] memberIds, Action<IReadOnlyList<RawReply>> completed) : PendingReplicaSetCall<RawReply>(memberIds)
{
    private int _done;

    public override void Fail(Exception error)
    {
        if (Interlocked.Exchange(ref _done, 1) == 0)
            completed([new RawReply(-1, ReplyStatus.RelayFailed, System.Text.Encoding.UTF8.GetBytes($"{error.GetType().Name}: {error.Message}"))]);
    }

    protected override RawReply Record(int memberId, ReplyStatus status, ReadOnlySpan<byte> payload) => new(memberId, status, payload.ToArray());

    protected override void Complete(int[] memberIds, RawReply[] replies)
    {
        if (Interlocked.Exchange(ref _done, 1) == 0) completed(replies);
    }
}
