using Derecho.Client;

namespace Derecho.Dashboard;

internal sealed record MemberView(int Id, string Endpoint, string State, long ViewId, string? Note, bool Contact);

internal sealed record ReplicaView(int Member, long Delivered, long Persisted, long GloballyPersisted, long DeliveryLag, long PersistenceLag);

internal sealed record ShardView(string Type, int Shard, int[] Members, bool Persistent, long Delivered, long GloballyPersisted, double? VersionsPerSecond,
    IReadOnlyList<ReplicaView> Replicas);

internal sealed record ViewRecord(long ViewId, int[] Members, DateTime SeenAt);

internal sealed record EventRecord(DateTime At, string Text);

internal sealed record PanelView(string Title, IReadOnlyList<KeyValuePair<string, string>> Rows);

/// <summary>What one update of the page carries.</summary>
internal sealed record DashboardSnapshot(DateTime ReadAt, long ViewId, string? Inadequate, IReadOnlyList<MemberView> Members, IReadOnlyList<ShardView> Shards,
    IReadOnlyList<ViewRecord> Views, IReadOnlyList<EventRecord> Events, IReadOnlyList<PanelView> Panels);

/// <summary>
/// Reads the group through an external client: every member of its view is asked for its status; view changes and
/// members lost or back become events. One feed per mapped dashboard, shared by every open page (read at most once per interval).
/// </summary>
internal sealed class DashboardFeed(Func<CancellationToken, Task<DerechoClient>> client, DashboardOptions options) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<ViewRecord> _views = new();
    private readonly List<EventRecord> _events = new();
    private readonly Dictionary<int, string> _lastState = new();
    private DashboardSnapshot? _last;

    public async Task<DashboardSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_last is { } fresh && DateTime.UtcNow - fresh.ReadAt < options.Interval / 2) return fresh;
            return _last = await ReadNowAsync(_last, cancellationToken).ConfigureAwait(false);
        }
        finally { _gate.Release(); }
    }

    private async Task<DashboardSnapshot> ReadNowAsync(DashboardSnapshot? previous, CancellationToken cancellationToken)
    {
        var connected = await client(cancellationToken).ConfigureAwait(false);
        var ids = connected.MemberIds.ToArray();
        var endpoints = connected.Endpoints;
        var answers = await Task.WhenAll(ids.Select(async id =>
        {
            try { return (id, Status: (GroupStatus?)await connected.GetStatusAsync(id, cancellationToken).ConfigureAwait(false), Error: (string?)null); }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested) { return (id, Status: null, Error: e.Message); }
        })).ConfigureAwait(false);
        var now = DateTime.UtcNow;
        var viewId = connected.ViewId;
        if (_views.Count == 0 || _views[^1].ViewId != viewId)
        {
            if (_views.Count > 0) Event(now, $"view {viewId}: members {string.Join(", ", ids)} (was view {_views[^1].ViewId}: {string.Join(", ", _views[^1].Members)})");
            else Event(now, $"watching view {viewId}: members {string.Join(", ", ids)}");
            _views.Add(new ViewRecord(viewId, ids, now));
            if (_views.Count > options.ViewHistory) _views.RemoveAt(0);
        }
        var members = answers.Select(a => new MemberView(a.id, endpoints.TryGetValue(a.id, out var e) ? e.ToString() : "?", a.Status?.State.ToString() ?? "Unreachable",
            a.Status?.ViewId ?? -1, a.Error ?? a.Status?.Reason, a.id == connected.Contact)).ToList();
        foreach (var member in members)
        {
            if (_lastState.TryGetValue(member.Id, out var before) && before != member.State) Event(now, $"member {member.Id}: {before} → {member.State}{(member.Note is null ? "" : $" ({member.Note})")}");
            _lastState[member.Id] = member.State;
        }
        foreach (var gone in _lastState.Keys.Where(k => Array.IndexOf(ids, k) < 0).ToList()) _lastState.Remove(gone);

        var shards = new List<ShardView>();
        foreach (var subgroup in connected.Layout.Subgroups)
        {
            for (var s = 0; s < subgroup.Shards.Length; s++)
            {
                var replicas = new List<(int Member, ShardVersions Versions)>();
                foreach (var member in subgroup.Shards[s])
                    if (answers.FirstOrDefault(a => a.id == member).Status?.Shards.FirstOrDefault(v => v.TypeId == subgroup.TypeId && v.Shard == s) is { } versions)
                        replicas.Add((member, versions));
                var name = replicas.Count > 0 ? replicas[0].Versions.Type : subgroup.Name;
                var newest = replicas.Count == 0 ? -1 : replicas.Max(r => r.Versions.Delivered);
                double? rate = null;
                if (previous?.Shards.FirstOrDefault(p => p.Type == name && p.Shard == s) is { Delivered: >= 0 } before && newest >= 0 && now > previous.ReadAt)
                    rate = Math.Round(Math.Max(0, newest - before.Delivered) / (now - previous.ReadAt).TotalSeconds, 1);
                shards.Add(new ShardView(name, s, subgroup.Shards[s], replicas.Any(r => r.Versions.Persistent), newest,
                    replicas.Count == 0 ? -1 : replicas.Max(r => r.Versions.GloballyPersisted), rate,
                    replicas.Select(r => new ReplicaView(r.Member, r.Versions.Delivered, r.Versions.Persisted, r.Versions.GloballyPersisted,
                        Math.Max(0, newest - r.Versions.Delivered), r.Versions.PersistenceLag)).ToList()));
            }
        }

        var panels = new List<PanelView>();
        foreach (var panel in options.Panels)
        {
            try { panels.Add(new PanelView(panel.Title, await panel.ReadAsync(cancellationToken).ConfigureAwait(false))); }
            catch (Exception e) when (e is not OperationCanceledException) { panels.Add(new PanelView(panel.Title, [new("error", e.Message)])); }
        }
        var inadequate = connected.Layout.Inadequate is null ? null : answers.Select(a => a.Status?.Reason).FirstOrDefault(r => r is not null) ?? connected.Layout.Inadequate;
        return new DashboardSnapshot(now, viewId, inadequate, members, shards, [.. _views], [.. _events], panels);
    }

    public void Dispose() => _gate.Dispose();

    private void Event(DateTime at, string text)
    {
        _events.Add(new EventRecord(at, text));
        if (_events.Count > options.RecentEvents) _events.RemoveAt(0);
    }
}
