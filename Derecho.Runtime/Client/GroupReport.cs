using System.Diagnostics;
using Derecho.Errors;

namespace Derecho.Client;

/// <summary>One member as a <see cref="GroupReport"/> shows it: where it is and what it said, or why it said nothing.</summary>
/// <param name="Id">The member's id.</param>
/// <param name="Endpoint">Where the client reaches it ("?" when its view names no endpoint).</param>
/// <param name="IsContact">Whether it is the client's contact (the member it relays through).</param>
/// <param name="State">Its <see cref="GroupMemberState"/> by name; "Unauthorized" when it refused this client the status
/// (<c>Derecho:AuthorizedClients</c> lacks "@status"), "Unreachable" when it did not answer.</param>
/// <param name="ViewId">Its installed view (-1: none, or it did not answer).</param>
/// <param name="Reason">Why its view is inadequate or it stopped, as it said; null otherwise.</param>
/// <param name="Error">Why it did not answer (unreachable, refused, timed out); null when it answered.</param>
/// <param name="LatencyMs">How long its answer took, in milliseconds.</param>
public sealed record MemberReport(int Id, string Endpoint, bool IsContact, string State, long ViewId, string? Reason, string? Error, double LatencyMs);

/// <summary>One replica of a shard: its versions at that member, and how far it is behind the shard's newest delivery.</summary>
/// <param name="Member">The member holding the replica.</param>
/// <param name="Delivered">Its last delivered version (-1: none).</param>
/// <param name="Logged">Its newest logged version (-1: none).</param>
/// <param name="Persisted">Every version up to this one is on its disk (-1: none).</param>
/// <param name="GloballyPersisted">Every version up to this one is on every shard member's disk, as it knows (-1: none).</param>
/// <param name="DeliveryLag">Versions delivered by the shard's most advanced replica and not yet by this one.</param>
/// <param name="PersistenceLag">Versions it logged and has not yet on its disk.</param>
public sealed record ReplicaReport(int Member, long Delivered, long Logged, long Persisted, long GloballyPersisted, long DeliveryLag, long PersistenceLag);

/// <summary>One shard of the layout, with the versions each of its members reported.</summary>
/// <param name="TypeId">The replicated type's id.</param>
/// <param name="Type">The replicated type's name (from the members' answers; the layout's name when none answered).</param>
/// <param name="Shard">The shard's index within its subgroup.</param>
/// <param name="Members">The shard's members in the client's view.</param>
/// <param name="Persistent">Whether its replicas keep a log.</param>
/// <param name="Delivered">The newest version any replica delivered (-1: none answered).</param>
/// <param name="GloballyPersisted">The newest globally persisted version any replica knows (-1: none).</param>
/// <param name="VersionsPerSecond">Delivery rate since the previous report; null for a first report.</param>
/// <param name="Replicas">The replicas that answered.</param>
public sealed record ShardReport(uint TypeId, string Type, int Shard, IReadOnlyList<int> Members, bool Persistent, long Delivered, long GloballyPersisted, double? VersionsPerSecond,
    IReadOnlyList<ReplicaReport> Replicas);

/// <summary>
/// The group as a client sees it at one moment: every member of its view asked for its status (<see cref="DerechoClient.GetStatusAsync"/>), the
/// answers laid over the layout. The <c>derecho</c> CLI prints it; the dashboard shows it; a monitor can poll it.
/// </summary>
/// <param name="ReadAt">When the answers were in (UTC, the client's clock).</param>
/// <param name="ContactId">The client's contact member.</param>
/// <param name="ViewId">The client's view.</param>
/// <param name="Inadequate">Why the view is inadequate (as a member said it); null when it is adequate.</param>
/// <param name="Members">Every member of the view, answered or not.</param>
/// <param name="Shards">Every shard of the layout.</param>
public sealed record GroupReport(DateTime ReadAt, int ContactId, long ViewId, string? Inadequate, IReadOnlyList<MemberReport> Members, IReadOnlyList<ShardReport> Shards)
{
    /// <summary>Every member of the view answered and runs, and the view is adequate.</summary>
    public bool Healthy => Members.All(m => m.Error is null && m.State == nameof(GroupMemberState.Running)) && Inadequate is null;

    /// <summary>
    /// Asks every member of <paramref name="client"/>'s view for its status (in parallel), and lays the answers over the layout.
    /// A member that does not answer is in the report with its <see cref="MemberReport.Error"/>; nothing throws for it.
    /// <paramref name="previous"/>, if given, is an earlier report: each shard's delivery rate is measured against it.
    /// </summary>
    public static async Task<GroupReport> ReadAsync(DerechoClient client, GroupReport? previous = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        // One view for the whole report: the client's view is read once, before any answer (a view change meanwhile shows next time).
        var viewId = client.ViewId;
        var members = client.MemberIds.ToArray();
        var endpoints = client.Endpoints;
        var layout = client.Layout;
        var contact = client.Contact;
        var answers = await Task.WhenAll(members.Select(async member =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                var status = await client.GetStatusAsync(member, cancellationToken).ConfigureAwait(false);
                return (Member: member, Status: (GroupStatus?)status, Error: (string?)null, Ms: Stopwatch.GetElapsedTime(started).TotalMilliseconds, Refused: false);
            }
            catch (UnauthorizedCallException e)
            {
                return (Member: member, Status: null, Error: e.Message, Ms: Stopwatch.GetElapsedTime(started).TotalMilliseconds, Refused: true);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return (Member: member, Status: null, Error: e.Message, Ms: Stopwatch.GetElapsedTime(started).TotalMilliseconds, Refused: false);
            }
        })).ConfigureAwait(false);
        var readAt = DateTime.UtcNow;
        var memberReports = answers.Select(a => new MemberReport(a.Member, endpoints.TryGetValue(a.Member, out var e) ? e.ToString() : "?", a.Member == contact,
            a.Status?.State.ToString() ?? (a.Refused ? "Unauthorized" : "Unreachable"), a.Status?.ViewId ?? -1, a.Status?.Reason, a.Error, Math.Round(a.Ms, 2))).ToList();

        var shards = new List<ShardReport>();
        foreach (var subgroup in layout.Subgroups)
        {
            for (var s = 0; s < subgroup.Shards.Length; s++)
            {
                var replicas = new List<(int Member, ShardVersions Versions)>();
                foreach (var member in subgroup.Shards[s])
                {
                    var status = answers.FirstOrDefault(a => a.Member == member).Status;
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
                shards.Add(new ShardReport(subgroup.TypeId, name, s, subgroup.Shards[s].ToArray(), replicas.Any(r => r.Versions.Persistent), newest, global, rate,
                    replicas.Select(r => new ReplicaReport(r.Member, r.Versions.Delivered, r.Versions.Logged, r.Versions.Persisted, r.Versions.GloballyPersisted,
                        Math.Max(0, newest - r.Versions.Delivered), r.Versions.PersistenceLag)).ToList()));
            }
        }
        // A client's layout only knows that the view is inadequate; the members say why.
        var inadequate = layout.Inadequate is null ? null : answers.Select(a => a.Status?.Reason).FirstOrDefault(r => r is not null) ?? layout.Inadequate;
        return new GroupReport(readAt, contact, viewId, inadequate, memberReports, shards);
    }
}
