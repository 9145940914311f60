using Derecho.Rpc;

namespace Derecho.Persistence;

/// <summary>What a replica is given: where it runs, the message it is handling, and its versioned fields.</summary>
public interface IReplicaContext
{
    /// <summary>This member's id.</summary>
    int MyId { get; }

    /// <summary>The index of this replica's shard in its subgroup.</summary>
    int Shard { get; }

    /// <summary>Members of this replica's shard, in rank order.</summary>
    IReadOnlyList<int> Members { get; }

    /// <summary>The ordered call being handled (valid inside an <c>[Ordered]</c> handler).</summary>
    DeliveryInfo CurrentDelivery { get; }

    /// <summary>
    /// The typed handle of any replicated type of the group, backed by this member's RPC engine: a trigger handler
    /// makes its ordered calls through it, <c>await _context.Subgroup&lt;Store&gt;().ShardFor(key).Ordered.Keep(…)</c>.
    /// Never await a call from an ordered or P2P handler: they run on the protocol thread, which delivers the replies.
    /// </summary>
    SubgroupHandle<T> Subgroup<T>() where T : class, IReplicatedType;

    /// <summary>A field that keeps every version in memory; <paramref name="name"/> is unique within the type.</summary>
    Volatile<T> Volatile<T>(string name, T initial = default!);

    /// <summary>
    /// A field that keeps every version in memory and in a durable log under the member's data directory;
    /// after a restart it comes back with its versions.
    /// </summary>
    Persistent<T> Persistent<T>(string name, T initial = default!);

    /// <summary>
    /// A persistent field that logs deltas through <paramref name="deltas"/>, with a full value every
    /// <paramref name="checkpointEvery"/> versions.
    /// </summary>
    Persistent<T> Persistent<T>(string name, T initial, IDeltaCodec<T> deltas, int checkpointEvery = 64);
}
