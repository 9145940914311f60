namespace Derecho.Errors;

/// <summary>
/// A subscription to a shard's notifications ended for good: the member cut off a subscriber that lagged too far
/// behind, or refused it. The enumeration throws it after the last notification it handed out.
/// </summary>
public class SubscriptionEndedException(int memberId, string reason) : DerechoException($"member {memberId} ended the subscription: {reason}")
{
    /// <summary>The member that ended it.</summary>
    public int MemberId { get; } = memberId;

    /// <summary>Why, as the member said it.</summary>
    public string Reason { get; } = reason;
}

/// <summary>
/// No member of the shard still has every notification after the position asked for (they were dropped by
/// retention, or happened before any surviving member got the shard's state): continuing would silently skip some.
/// Resubscribe from an older position is impossible; read the state instead and subscribe from its version.
/// </summary>
public sealed class NotificationGapException(int memberId, string reason) : SubscriptionEndedException(memberId, reason);
