namespace Derecho.Rpc;

/// <summary>Identity of a delivered ordered call, the same at every replica.</summary>
/// <param name="SenderId">Member that multicast the call.</param>
/// <param name="SenderIndex">The sender's own message counter for it.</param>
/// <param name="Sequence">Global position in the total order.</param>
/// <param name="Timestamp">Agreed UTC time of the call: the sender's clock, made monotonic in delivery order.</param>
/// <param name="ViewId">The view that delivered the call.</param>
public readonly record struct DeliveryInfo(int SenderId, long SenderIndex, long Sequence, DateTime Timestamp, long ViewId = 0)
{
    /// <summary>Version number of updates made by this call: (view, sequence), increasing along the total order.</summary>
    public long Version => (ViewId << 40) | Sequence;
}
