using Derecho.Layout;

namespace Derecho.Membership;

/// <summary>What a starting member tells the others: the newest view it logged and what its replica logs hold.</summary>
/// <param name="Id">The reporting member.</param>
/// <param name="ViewId">Newest view in its view log, or -1 when it has none (a fresh or lost disk).</param>
/// <param name="Members">That view's members with their endpoints.</param>
/// <param name="LastAdequate">The layout of the last adequate view as of that view (who holds which shard's data).</param>
/// <param name="Shards">Per shard it held: the newest version in its replica log.</param>
internal sealed record RestartReport(int Id, long ViewId, (int Id, long Endpoint)[] Members, GroupLayout? LastAdequate, (uint TypeId, int Shard, long Version)[] Shards);

/// <summary>Where a shard's history continues from at a restart: the member with the longest log, and how far it goes.</summary>
internal readonly record struct ShardSource(uint TypeId, int Shard, int Source, long Version);

/// <summary>
/// The restart the leader decided: the view every restarting member installs, where each shard's longest log
/// is, and (parallel to <see cref="Sources"/>) which returning members hold each shard's log: they catch up to
/// the longest and send the state to the shard's other members.
/// </summary>
internal sealed record RestartDecision(long ViewId, (int Id, long Endpoint)[] Members, GroupLayout? LastAdequate, ShardSource[] Sources, int[][] Holders, int[] Rejoin);

/// <summary>
/// The rules of a total restart (Derecho's restart_state.cpp), as a pure function of what the members
/// reported. The newest logged view wins; a majority of its members must be back with their disks (as in
/// Derecho, a member counts whatever view it logged last: one that crashed before logging the newest still
/// has its data), and every shard of its layout must have a member back that holds the shard's log (the
/// longest of their logs is the shard's history, sent to the others: an up-to-date log is never cut to a
/// stale one). The restart view is that view's returning members, with the next view id so versions keep
/// increasing. Other members, and members whose disk holds no view, rejoin the restarted group.
/// A group whose members all have empty disks forms view 0 from the configured members, all of them.
/// </summary>
internal static class RestartPlan
{
    /// <summary>The decision, or null with <paramref name="waitingFor"/> saying whom the restart still needs.</summary>
    public static RestartDecision? Decide(IReadOnlyList<(int Id, long Endpoint)> configured, IReadOnlyDictionary<int, RestartReport> reports, out string waitingFor)
    {
        var newest = reports.Values.Where(r => r.ViewId >= 0).MaxBy(r => r.ViewId);
        if (newest is null)
        {
            // First start: everyone configured, as view 0.
            var missing = configured.Where(m => !reports.ContainsKey(m.Id)).Select(m => m.Id).ToList();
            waitingFor = missing.Count == 0 ? "" : $"the first view needs every configured member; waiting for member(s) {string.Join(", ", missing)}";
            return missing.Count == 0 ? new RestartDecision(0, configured.ToArray(), null, [], [], []) : null;
        }
        // Members of the newest view that are back with a disk; one whose disk is empty rejoins.
        var back = newest.Members.Where(m => reports.TryGetValue(m.Id, out var r) && r.ViewId >= 0).ToArray();
        var majority = newest.Members.Length / 2 + 1;
        var problems = new List<string>();
        if (back.Length < majority)
            problems.Add($"{back.Length} of the {newest.Members.Length} members of view {newest.ViewId} are back, a majority needs {majority}; waiting for member(s) {string.Join(", ", newest.Members.Select(m => m.Id).Where(id => back.All(b => b.Id != id)))}");
        var sources = new List<ShardSource>();
        var holding = new List<int[]>();
        foreach (var (typeId, shard, holders) in Holders(newest.LastAdequate))
        {
            ShardSource? best = null;
            var present = new List<int>();
            foreach (var holder in holders)
            {
                // A holder is a member of the shard in the newest layout that is back and has the shard's log
                // (a member that logged an older view may have held another shard then).
                if (back.All(b => b.Id != holder)) continue;
                var held = reports[holder].Shards.Where(s => s.TypeId == typeId && s.Shard == shard).Select(s => (long?)s.Version).FirstOrDefault();
                if (held is not { } version) continue;
                present.Add(holder);
                if (best is null || version > best.Value.Version) best = new ShardSource(typeId, shard, holder, version);
            }
            if (best is null) problems.Add($"no member that held shard {shard} of type {typeId:X8} ({string.Join(", ", holders)}) is back");
            else
            {
                sources.Add(best.Value);
                holding.Add(present.ToArray());
            }
        }
        waitingFor = string.Join("; ", problems);
        if (problems.Count > 0) return null;
        var rejoin = reports.Keys.Where(id => back.All(b => b.Id != id)).Order().ToArray();
        return new RestartDecision(newest.ViewId + 1, back, newest.LastAdequate, sources.ToArray(), holding.ToArray(), rejoin);
    }

    /// <summary>The member that decides: the lowest id among the reporters that logged the newest view (among all reporters on a first start).
    /// Every reporter computes the same leader from the same reports; a member whose connection fails is forgotten until it reports again.</summary>
    public static int Leader(IReadOnlyDictionary<int, RestartReport> reports)
    {
        var newest = reports.Values.Max(r => r.ViewId);
        return reports.Values.Where(r => r.ViewId == newest).Min(r => r.Id);
    }

    private static IEnumerable<(uint TypeId, int Shard, int[] Holders)> Holders(GroupLayout? layout)
    {
        if (layout is null) yield break;
        foreach (var subgroup in layout.Subgroups)
            for (var s = 0; s < subgroup.Shards.Length; s++)
                yield return (subgroup.TypeId, s, subgroup.Shards[s]);
    }
}
