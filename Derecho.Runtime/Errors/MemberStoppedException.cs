namespace Derecho.Errors;

/// <summary>
/// This member no longer takes part in the group, so it takes no more calls: it left, a view change excluded
/// it, or it stopped on an error. <see cref="Reason"/> says which.
/// </summary>
public sealed class MemberStoppedException(int memberId, string reason, Exception? inner = null)
    : DerechoException($"member {memberId} stopped: {reason}", inner)
{
    /// <summary>The member that stopped.</summary>
    public int MemberId { get; } = memberId;

    /// <summary>Why it stopped.</summary>
    public string Reason { get; } = reason;
}
