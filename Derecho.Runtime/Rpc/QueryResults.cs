using System.Collections;

namespace Derecho.Rpc;

/// <summary>One replica's reply to an ordered call.</summary>
public readonly record struct Reply<T>(int MemberId, T Value);

/// <summary>The replies to an ordered call: one per replica, each tagged with the member that sent it.</summary>
public class QueryResults
{
    private readonly int[] _memberIds;

    internal QueryResults(int[] memberIds) => _memberIds = memberIds;

    /// <summary>Members that replied, in member-rank order.</summary>
    public IReadOnlyList<int> MemberIds => _memberIds;
}

/// <summary>The typed replies to an ordered call.</summary>
public sealed class QueryResults<T> : QueryResults, IReadOnlyList<Reply<T>>
{
    private readonly Reply<T>[] _replies;

    internal QueryResults(int[] memberIds, Reply<T>[] replies) : base(memberIds) => _replies = replies;

    /// <inheritdoc />
    public int Count => _replies.Length;

    /// <inheritdoc />
    public Reply<T> this[int index] => _replies[index];

    /// <summary>The reply of one member.</summary>
    public T ValueFrom(int memberId)
    {
        foreach (var reply in _replies)
            if (reply.MemberId == memberId) return reply.Value;
        throw new KeyNotFoundException($"member {memberId} did not reply");
    }

    /// <inheritdoc />
    public IEnumerator<Reply<T>> GetEnumerator() => ((IEnumerable<Reply<T>>)_replies).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
