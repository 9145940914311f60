namespace Derecho.Hosting;

/// <summary>Where a member stands, as health checks and metrics read it.</summary>
internal enum MemberState
{
    /// <summary>Not in a view yet (starting, restarting or joining).</summary>
    Starting,

    /// <summary>In an adequate view: every shard runs.</summary>
    Running,

    /// <summary>In a view too small for the layout: no shard runs until members join.</summary>
    Inadequate,

    /// <summary>A shard of this member waits for its state from another member (state transfer).</summary>
    LoadingState,

    /// <summary>Wedged for good: the member failed, was excluded, or left.</summary>
    Stopped,
}

/// <summary>One shard this member holds, in the installed view.</summary>
/// <param name="Type">The replicated type's name.</param>
/// <param name="Shard">The shard's index within its subgroup.</param>
/// <param name="Replicas">Members of the shard in this view.</param>
/// <param name="MaxReplicas">The most members its policy gives it (<see cref="int.MaxValue"/>: no bound).</param>
/// <param name="Persistent">Whether its replica has a log (persisted versions mean something).</param>
/// <param name="Delivered">Version of the last call delivered here (-1: none since this process started).</param>
/// <param name="Logged">Newest version its log holds, on disk or not (-1: none).</param>
/// <param name="Persisted">Every version up to this one is on this member's disk (-1: none).</param>
/// <param name="GloballyPersisted">Every version up to this one is on every shard member's disk (-1: none).</param>
/// <param name="TypeId">The replicated type's id (as layouts name it).</param>
internal readonly record struct ShardStatus(string Type, int Shard, int Replicas, int MaxReplicas, bool Persistent, long Delivered, long Logged,
    long Persisted, long GloballyPersisted, uint TypeId = 0)
{
    /// <summary>Whether the disk has not caught up with delivery here.</summary>
    public bool PersistenceBehind => Persistent && Persisted < Logged;
}

/// <summary>A snapshot of a member: its state, view and shards.</summary>
internal sealed record MemberStatus(int MyId, MemberState State, long ViewId, IReadOnlyList<int> Members, IReadOnlyList<ShardStatus> Shards,
    string? Reason = null);
