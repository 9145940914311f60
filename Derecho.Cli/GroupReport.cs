using System.Diagnostics;
using Derecho.Client;

namespace Derecho.Cli;

/// <summary>One member as the report shows it: where it is and what it said (or why it said nothing).</summary>
internal sealed record MemberReport(int Id, string Endpoint, bool Contact, string State, long ViewId, string? Reason, string? Error, double LatencyMs);

/// <summary>One replica of a shard: its versions at that member, and how far it is behind the shard's newest delivery.</summary>
internal sealed record ReplicaReport(int Member, long Delivered, long Logged, long Persisted, long GloballyPersisted, long DeliveryLag, long PersistenceLag);

/// <summary>One shard of the layout, with the versions each of its members reported.</summary>
internal sealed record ShardReport(uint TypeId, string Type, int Shard, int[] Members, bool Persistent, long Delivered, long GloballyPersisted, double? VersionsPerSecond,
    IReadOnlyList<ReplicaReport> Replicas);

/// <summary>What <c>derecho status</c> prints (as a table, or as this record in JSON).</summary>
internal sealed record GroupReport(DateTime ReadAt, int Contact, long ViewId, string? Inadequate, IReadOnlyList<MemberReport> Members, IReadOnlyList<ShardReport> Shards)
{
    /// <summary>Every member of the view answered and runs.</summary>
    public bool Healthy => Members.All(m => m.Error is null && m.State == nameof(GroupMemberState.Running)) && Inadequate is null;

    /// <summary>
    /// Asks every member of the client's view for its status (in parallel), and lays the answers over the layout.
    /// <paramref name="previous"/>, if given, is an earlier report: each shard's delivery rate is measured against it.
    /// </summary>
    public static async Task<GroupReport> ReadAsync(DerechoClient client, GroupReport? previous, CancellationToken cancellationToken)
    {
        var members = client.MemberIds.ToArray();
        var endpoints = client.Endpoints;
        var answers = await Task.WhenAll(members.Select(async member =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                var status = await client.GetStatusAsync(member, cancellationToken).ConfigureAwait(false);
                return (member, status, (string?)null, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return (member, (GroupStatus?)null, e.Message, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        })).ConfigureAwait(false);
        var readAt = DateTime.UtcNow;
        var memberReports = answers.Select(a => new MemberReport(a.member, endpoints.TryGetValue(a.member, out var e) ? e.ToString() : "?", a.member == client.Contact,
            a.Item2?.State.ToString() ?? "Unreachable", a.Item2?.ViewId ?? -1, a.Item2?.Reason, a.Item3, Math.Round(a.Item4, 2))).ToList();

        var layout = client.Layout;
        var shards = new List<ShardReport>();
        foreach (var subgroup in layout.Subgroups)
        {
            for (var s = 0; s < subgroup.Shards.Length; s++)
            {
                var replicas = new List<(int Member, ShardVersions Versions)>();
                foreach (var member in subgroup.Shards[s])
                {
                    var status = answers.FirstOrDefault(a => a.member == member).Item2;
                    if (status?.Shards.FirstOrDefault(v => v.Shard == s && v.TypeId == subgroup.TypeId) is { } versions) replicas.Add((member, versions));
                }
                var newest = replicas.Count == 0 ? -1 : replicas.Max(r => r.Versions.Delivered);
                var global = replicas.Count == 0 ? -1 : replicas.Max(r => r.Versions.GloballyPersisted);
                double? rate = null;
                if (previous?.Shards.FirstOrDefault(p => p.TypeId == subgroup.TypeId && p.Shard == s) is { Delivered: >= 0 } before && newest >= 0)
                {
                    var seconds = (readAt - previous.ReadAt).TotalSeconds;
                    if (seconds > 0) rate = Math.Round(Math.Max(0, newest - before.Delivered) / seconds, 1);
                }
                // A client's layout names types by id only: the members' answers carry their names.
                var name = replicas.Count > 0 ? replicas[0].Versions.Type : subgroup.Name;
                shards.Add(new ShardReport(subgroup.TypeId, name, s, subgroup.Shards[s], replicas.Any(r => r.Versions.Persistent), newest, global, rate,
                    replicas.Select(r => new ReplicaReport(r.Member, r.Versions.Delivered, r.Versions.Logged, r.Versions.Persisted, r.Versions.GloballyPersisted,
                        Math.Max(0, newest - r.Versions.Delivered), r.Versions.PersistenceLag)).ToList()));
            }
        }
        // A client's layout only knows that the view is inadequate; the members say why.
        var inadequate = layout.Inadequate is null ? null : answers.Select(a => a.Item2?.Reason).FirstOrDefault(r => r is not null) ?? layout.Inadequate;
        return new GroupReport(readAt, client.Contact, client.ViewId, inadequate, memberReports, shards);
    }
}
