namespace Derecho.Errors;

/// <summary>The group would not take this member in (for example, a replicated type's state cannot be sent to it); the message says why.</summary>
public sealed class JoinRefusedException(int memberId, string reason) : DerechoException($"member {memberId} cannot join: {reason}")
{
    /// <summary>Why the group refused.</summary>
    public string Reason { get; } = reason;
}
