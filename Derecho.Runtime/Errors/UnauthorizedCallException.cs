namespace Derecho.Errors;

/// <summary>A member refused the call: this client may not call that replicated type. Nothing was applied; retrying does not help.</summary>
public sealed class UnauthorizedCallException(int memberId, string reason) : DerechoException($"member {memberId} refused the call: {reason}")
{
    /// <summary>Why the member refused.</summary>
    public string Reason { get; } = reason;
}
