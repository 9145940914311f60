namespace Derecho.Client;

/// <summary>Where a member stands, as it answers a status query (<see cref="DerechoClient.GetStatusAsync"/>).</summary>
public enum GroupMemberState
{
    /// <summary>Not in a view yet (starting, restarting or joining).</summary>
    Starting = 0,

    /// <summary>In an adequate view: every shard runs.</summary>
    Running = 1,

    /// <summary>In a view too small for the layout: no shard runs until members join.</summary>
    Inadequate = 2,

    /// <summary>A shard of this member waits for its state from another member (state transfer).</summary>
    LoadingState = 3,

    /// <summary>Wedged for good: the member failed, was excluded, left or was closed.</summary>
    Stopped = 4,
}

/// <summary>One shard the answering member holds, with its versions there.</summary>
/// <param name="TypeId">The replicated type's id (as <see cref="Layout.SubgroupLayout.TypeId"/> names it).</param>
/// <param name="Type">The replicated type's name.</param>
/// <param name="Shard">The shard's index within its subgroup.</param>
/// <param name="Replicas">Members of the shard in the member's view.</param>
/// <param name="MaxReplicas">The most members its policy gives it (<see cref="int.MaxValue"/>: no bound).</param>
/// <param name="Persistent">Whether its replica has a log (the persisted versions mean something).</param>
/// <param name="Delivered">Version of the last call delivered at the member (-1: none since it started).</param>
/// <param name="Logged">Newest version its log holds, on disk or not (-1: none).</param>
/// <param name="Persisted">Every version up to this one is on the member's disk (-1: none).</param>
/// <param name="GloballyPersisted">Every version up to this one is on every shard member's disk (-1: none).</param>
public sealed record ShardVersions(uint TypeId, string Type, int Shard, int Replicas, int MaxReplicas, bool Persistent, long Delivered, long Logged, long Persisted,
    long GloballyPersisted)
{
    /// <summary>Versions logged at the member but not yet on its disk (0 for a shard without a log).</summary>
    public long PersistenceLag => Persistent ? Math.Max(0, Logged - Persisted) : 0;

    /// <summary>Versions on the member's disk but not yet on every shard member's disk (0 for a shard without a log).</summary>
    public long GlobalPersistenceLag => Persistent ? Math.Max(0, Persisted - GloballyPersisted) : 0;
}

/// <summary>A member's answer to a status query: its state, its view and the shards it holds, as of <see cref="ReadAt"/>.</summary>
/// <param name="Member">The member that answered.</param>
/// <param name="State">Where it stands.</param>
/// <param name="ViewId">Its installed view (-1: none yet, or stopped).</param>
/// <param name="Members">The members of that view, by rank.</param>
/// <param name="Shards">The shards it holds in that view.</param>
/// <param name="Reason">Why the view is inadequate or the member stopped; null otherwise.</param>
/// <param name="ReadAt">The member's clock (UTC) when it read its status.</param>
public sealed record GroupStatus(int Member, GroupMemberState State, long ViewId, IReadOnlyList<int> Members, IReadOnlyList<ShardVersions> Shards, string? Reason,
    DateTime ReadAt);
