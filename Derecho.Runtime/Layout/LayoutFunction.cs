namespace Derecho.Layout;

/// <summary>One subgroup to lay out: its replicated type and its policy.</summary>
internal sealed record SubgroupSpec(uint TypeId, string Name, ShardPolicy Policy);

/// <summary>
/// The layout function: a view's members (+ last adequate layout) → subgroups → shards → members. Deterministic, so
/// every member computes the same mapping. Per subgroup: pinned members go to their shards; members keep
/// the shard they held in the previous layout; free members fill shards to their minimum, in shard order; if a shard is
/// still short, members move from shards above their minimum (fewest moves); then free members fill
/// shards up to their maximum. A shard left below its minimum makes the view inadequate.
/// </summary>
internal static class LayoutFunction
{
    /// <summary>
    /// Lays out <paramref name="specs"/> over a view's <paramref name="members"/> (in rank order), moving as few
    /// members from <paramref name="previous"/> as the policies allow.
    /// </summary>
    public static GroupLayout Compute(IReadOnlyList<int> members, IReadOnlyList<SubgroupSpec> specs, GroupLayout? previous)
    {
        var view = members.ToArray();
        var subgroups = new List<SubgroupLayout>(specs.Count);
        string? inadequate = null;
        foreach (var spec in specs)
        {
            var before = previous?.Find(spec.TypeId);
            var shards = LayOut(view, spec.Policy, before?.Shards.Length == spec.Policy.Shards ? before.Shards : null);
            for (var s = 0; s < shards.Length && inadequate is null; s++)
                if (shards[s].Length < spec.Policy.MinReplicas)
                    inadequate = $"shard {s} of {spec.Name} has {shards[s].Length} of its minimum {spec.Policy.MinReplicas} members";
            subgroups.Add(new SubgroupLayout(spec.TypeId, spec.Name, shards));
        }
        return new GroupLayout(subgroups, inadequate);
    }

    private static int[][] LayOut(int[] view, ShardPolicy policy, int[][]? previous)
    {
        var count = policy.Shards;
        var shards = new List<int>[count];
        for (var s = 0; s < count; s++) shards[s] = new List<int>();
        var eligible = view.Where(m => policy.Members is null || policy.Members.Contains(m)).ToList();
        var pinned = policy.Pinned.SelectMany(p => p.Value).ToHashSet();
        var placed = new HashSet<int>();

        foreach (var (shard, members) in policy.Pinned.OrderBy(p => p.Key))
            foreach (var id in members)
                if (Array.IndexOf(view, id) >= 0)
                {
                    shards[shard].Add(id);
                    placed.Add(id);
                }

        if (previous is not null)
            for (var s = 0; s < count; s++)
                foreach (var id in previous[s])
                    if (eligible.Contains(id) && !pinned.Contains(id) && !placed.Contains(id) && shards[s].Count < policy.MaxReplicas)
                    {
                        shards[s].Add(id);
                        placed.Add(id);
                    }

        var free = new Queue<int>(eligible.Where(id => !placed.Contains(id) && !pinned.Contains(id)));
        // Minimums first, shard by shard (contiguous ranks), so free members are not spent on shards already adequate.
        for (var s = 0; s < count; s++)
            while (free.Count > 0 && shards[s].Count < policy.MinReplicas) shards[s].Add(free.Dequeue());
        while (Emptiest(shards, policy.MinReplicas) is { } shortShard && Fullest(shards, policy.MinReplicas, pinned) is { } donor)
        {
            var moved = shards[donor].Where(id => !pinned.Contains(id)).OrderBy(id => Array.IndexOf(view, id)).Last();
            shards[donor].Remove(moved);
            shards[shortShard].Add(moved);
        }
        while (free.Count > 0 && Emptiest(shards, policy.MaxReplicas) is { } room) shards[room].Add(free.Dequeue());

        return shards.Select(s => s.OrderBy(id => Array.IndexOf(view, id)).ToArray()).ToArray();
    }

    /// <summary>The shard with the fewest members below <paramref name="bound"/> (lowest index on ties), or null.</summary>
    private static int? Emptiest(List<int>[] shards, int bound)
    {
        int? best = null;
        for (var s = 0; s < shards.Length; s++)
            if (shards[s].Count < bound && (best is null || shards[s].Count < shards[best.Value].Count)) best = s;
        return best;
    }

    /// <summary>The shard with the most members above <paramref name="minimum"/> that has an unpinned one to give (highest index on ties), or null.</summary>
    private static int? Fullest(List<int>[] shards, int minimum, HashSet<int> pinned)
    {
        int? best = null;
        for (var s = 0; s < shards.Length; s++)
            if (shards[s].Count > minimum && shards[s].Any(id => !pinned.Contains(id)) && (best is null || shards[s].Count >= shards[best.Value].Count)) best = s;
        return best;
    }
}
