using Derecho.Errors;

namespace Derecho.Rpc;

/// <summary>A replicated call failed on a member; says which member, which call and why.</summary>
public sealed class RemoteCallException(int memberId, string message) : DerechoException($"member {memberId}: {message}")
{
    /// <summary>The member that reported the failure (or that failed).</summary>
    public int MemberId { get; } = memberId;
}
