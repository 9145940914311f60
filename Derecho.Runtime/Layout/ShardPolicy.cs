namespace Derecho.Layout;

/// <summary>
/// How one subgroup is laid out over a view's members: a fixed number of shards, each with at least
/// <see cref="MinReplicas"/> and at most <see cref="MaxReplicas"/> members. Subgroups are laid out
/// independently over the same members, so two subgroups overlap wherever they pick the same member.
/// </summary>
public sealed record ShardPolicy
{
    /// <summary>Number of shards; each orders its own updates.</summary>
    public int Shards { get; init; } = 1;

    /// <summary>A shard with fewer members never runs: the view is inadequate until joiners arrive.</summary>
    public int MinReplicas { get; init; } = 1;

    /// <summary>Members beyond the minimum fill shards up to this many (default: no bound, every free member).</summary>
    public int MaxReplicas { get; init; } = int.MaxValue;

    /// <summary>Members pinned to a shard (shard index → member ids). A member may be pinned to several shards.</summary>
    public IReadOnlyDictionary<int, int[]> Pinned { get; init; } = new Dictionary<int, int[]>();

    /// <summary>Only these members may hold the subgroup (null: any member).</summary>
    public IReadOnlyList<int>? Members { get; init; }

    /// <summary>A fixed layout: <paramref name="shards"/> shards of exactly <paramref name="replicas"/> members.</summary>
    public static ShardPolicy Fixed(int shards, int replicas) => new() { Shards = shards, MinReplicas = replicas, MaxReplicas = replicas };

    /// <summary>Checks the numbers fit together; returns the problem or null.</summary>
    internal string? Validate()
    {
        if (Shards is < 1 or > 250) return $"Shards must be 1 to 250 (got {Shards})";
        if (MinReplicas < 1) return $"MinReplicas must be at least 1 (got {MinReplicas})";
        if (MaxReplicas < MinReplicas) return $"MaxReplicas ({MaxReplicas}) is below MinReplicas ({MinReplicas})";
        foreach (var (shard, members) in Pinned)
        {
            if (shard < 0 || shard >= Shards) return $"Pinned names shard {shard}, but there are {Shards} shards";
            if (members.Length > MaxReplicas) return $"shard {shard} has {members.Length} pinned members, more than MaxReplicas {MaxReplicas}";
            if (members.Distinct().Count() != members.Length) return $"shard {shard} pins a member twice";
            if (Members is not null && members.Any(m => !Members.Contains(m))) return $"shard {shard} pins a member that is not in Members";
        }
        return null;
    }
}
