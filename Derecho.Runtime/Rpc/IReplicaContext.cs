namespace Derecho;

/// <summary>What a replica knows about where it runs and about the message it is handling.</summary>
public interface IReplicaContext
{
    /// <summary>This member's id.</summary>
    int MyId { get; }

    /// <summary>Members of this replica's shard, in rank order.</summary>
    IReadOnlyList<int> Members { get; }

    /// <summary>The ordered call being handled (valid inside an <c>[Ordered]</c> handler).</summary>
    DeliveryInfo CurrentDelivery { get; }
}

/// <summary>Identity of a delivered ordered call, the same at every replica.</summary>
/// <param name="SenderId">Member that multicast the call.</param>
/// <param name="SenderIndex">The sender's own message counter for it.</param>
/// <param name="Sequence">Global position in the total order.</param>
/// <param name="Timestamp">Agreed UTC time of the call: the sender's clock, made monotonic in delivery order.</param>
public readonly record struct DeliveryInfo(int SenderId, long SenderIndex, long Sequence, DateTime Timestamp);

internal sealed class ReplicaContext(int myId, IReadOnlyList<int> members) : IReplicaContext
{
    public int MyId { get; } = myId;

    public IReadOnlyList<int> Members { get; } = members;

    public DeliveryInfo CurrentDelivery { get; set; }
}
