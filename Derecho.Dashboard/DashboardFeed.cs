using Derecho.Client;

namespace Derecho.Dashboard;

internal sealed record ViewRecord(long ViewId, int[] Members, DateTime SeenAt);

internal sealed record EventRecord(DateTime At, string Text);

internal sealed record PanelView(string Title, IReadOnlyList<KeyValuePair<string, string>> Rows);

/// <summary>What one update of the page carries: the group's report (the one the <c>derecho</c> CLI prints), with the history the feed keeps and the host's panels.</summary>
internal sealed record DashboardSnapshot(DateTime ReadAt, long ViewId, string? Inadequate, IReadOnlyList<MemberReport> Members, IReadOnlyList<ShardReport> Shards,
    IReadOnlyList<ViewRecord> Views, IReadOnlyList<EventRecord> Events, IReadOnlyList<PanelView> Panels)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public GroupReport? Report { get; init; }
}

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
        var report = await GroupReport.ReadAsync(connected, previous?.Report, cancellationToken).ConfigureAwait(false);
        var now = report.ReadAt;
        var ids = report.Members.Select(m => m.Id).ToArray();
        if (_views.Count == 0 || _views[^1].ViewId != report.ViewId)
        {
            if (_views.Count > 0) Event(now, $"view {report.ViewId}: members {string.Join(", ", ids)} (was view {_views[^1].ViewId}: {string.Join(", ", _views[^1].Members)})");
            else Event(now, $"watching view {report.ViewId}: members {string.Join(", ", ids)}");
            _views.Add(new ViewRecord(report.ViewId, ids, now));
            if (_views.Count > options.ViewHistory) _views.RemoveAt(0);
        }
        foreach (var member in report.Members)
        {
            var note = member.Error ?? member.Reason;
            if (_lastState.TryGetValue(member.Id, out var before) && before != member.State) Event(now, $"member {member.Id}: {before} → {member.State}{(note is null ? "" : $" ({note})")}");
            _lastState[member.Id] = member.State;
        }
        foreach (var gone in _lastState.Keys.Where(k => Array.IndexOf(ids, k) < 0).ToList()) _lastState.Remove(gone);

        var panels = new List<PanelView>();
        foreach (var panel in options.Panels)
        {
            try { panels.Add(new PanelView(panel.Title, await panel.ReadAsync(cancellationToken).ConfigureAwait(false))); }
            catch (Exception e) when (e is not OperationCanceledException) { panels.Add(new PanelView(panel.Title, [new("error", e.Message)])); }
        }
        return new DashboardSnapshot(now, report.ViewId, report.Inadequate, report.Members, report.Shards, [.. _views], [.. _events], panels) { Report = report };
    }

    public void Dispose() => _gate.Dispose();

    private void Event(DateTime at, string text)
    {
        _events.Add(new EventRecord(at, text));
        if (_events.Count > options.RecentEvents) _events.RemoveAt(0);
    }
}
