namespace Derecho.Errors;

/// <summary>
/// A temporal call (<c>.AtTime(t, failFast: true)</c>) reached a member whose shard's stable time frontier had not
/// passed t: its answer at t could still change. Retry later, or call without failFast to have the member wait.
/// </summary>
public sealed class TimeNotStableException(int memberId, string reason) : DerechoException($"member {memberId}: {reason}")
{
    /// <summary>The member that answered.</summary>
    public int MemberId { get; } = memberId;
}
