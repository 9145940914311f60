using System.Text;
using MemoryPack;

namespace Derecho.Rpc;

/// <summary>A call waiting for replies. Replies arrive on transport or protocol threads.</summary>
internal abstract class PendingCall
{
    /// <summary>Records a reply; returns true once the call is complete.</summary>
    public abstract bool OnReply(int memberId, ReplyStatus status, ReadOnlySpan<byte> payload);

    /// <summary>Ends the call with an error (member failure, shutdown).</summary>
    public abstract void Fail(Exception error);

    /// <summary>Whether <paramref name="memberId"/> still owes this call a reply.</summary>
    public abstract bool AwaitsReplyFrom(int memberId);

    protected static Exception ErrorFrom(int memberId, ReplyStatus status, ReadOnlySpan<byte> payload) => status switch
    {
        ReplyStatus.HandlerFailed => new RemoteCallException(memberId, $"handler threw {Encoding.UTF8.GetString(payload)}"),
        ReplyStatus.UnknownMethod => new RemoteCallException(memberId, $"unknown replicated type or method: {Encoding.UTF8.GetString(payload)}"),
        ReplyStatus.MalformedRequest => new RemoteCallException(memberId, $"request could not be read: {Encoding.UTF8.GetString(payload)}"),
        _ => new RemoteCallException(memberId, $"unknown reply status {(int)status}"),
    };
}

/// <summary>An ordered call: complete when every replica of the shard replied.</summary>
internal sealed class PendingOrderedCall<T>(int[] memberIds) : PendingCall
{
    private readonly TaskCompletionSource<QueryResults<T>> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Reply<T>[] _replies = new Reply<T>[memberIds.Length];
    private readonly bool[] _received = new bool[memberIds.Length];
    private Exception? _error;
    private int _count;

    public Task<QueryResults<T>> Task => _completion.Task;

    public override bool OnReply(int memberId, ReplyStatus status, ReadOnlySpan<byte> payload)
    {
        var rank = Array.IndexOf(memberIds, memberId);
        lock (_replies)
        {
            if (rank < 0 || _received[rank]) return false;
            _received[rank] = true;
            if (status == ReplyStatus.Ok)
            {
                try { _replies[rank] = new Reply<T>(memberId, MemoryPackSerializer.Deserialize<T>(payload)!); }
                catch (MemoryPackSerializationException e) { _error ??= new RemoteCallException(memberId, $"reply could not be read: {e.Message}"); }
            }
            else _error ??= ErrorFrom(memberId, status, payload);
            if (++_count < memberIds.Length) return false;
        }
        if (_error is not null) _completion.TrySetException(_error);
        else _completion.TrySetResult(new QueryResults<T>(memberIds, _replies));
        return true;
    }

    public override bool AwaitsReplyFrom(int memberId)
    {
        var rank = Array.IndexOf(memberIds, memberId);
        lock (_replies) return rank >= 0 && !_received[rank];
    }

    public override void Fail(Exception error) => _completion.TrySetException(error);
}

/// <summary>A P2P call: complete with the one member's reply.</summary>
internal sealed class PendingP2PCall<T>(int memberId) : PendingCall
{
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

    public override bool AwaitsReplyFrom(int member) => member == memberId;

    public override void Fail(Exception error) => _completion.TrySetException(error);
}
