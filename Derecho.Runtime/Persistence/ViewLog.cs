using Derecho.Diagnostics;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Wire;
using MemoryPack;
using Microsoft.Extensions.Logging;

namespace Derecho.Persistence;

/// <summary>
/// Every view this member installed, and every ragged trim it applied, on disk before anything is delivered
/// in it (as Derecho's restart state keeps them): a total restart starts from the newest view any member
/// logged, with the next view id, instead of from the configured member list. View v is record 2v, its trim
/// 2v + 1; only the last views are kept.
/// </summary>
internal sealed class ViewLog : IDisposable
{
    private const int ViewsKept = 16;

    private readonly PersistentLog _log;
    private readonly ILogger _logger;

    public ViewLog(string directory, ILogger logger, MetricTags tags = default)
    {
        _logger = logger;
        _log = new PersistentLog(directory, new PersistentLogOptions { SegmentBytes = 256 << 10 }, logger, onRecord: (version, _, _, payload) =>
        {
            if (version % 2 == 0) Newest = MemoryPackSerializer.Deserialize<LoggedView>(payload) ?? throw new InvalidDataException($"view log {directory}: record {version} holds no view");
        }, tags);
    }

    /// <summary>The newest view logged, or null for a member that never installed one here.</summary>
    public LoggedView? Newest { get; private set; }

    /// <summary>Logs an installed view (durably: returns once it is on disk).</summary>
    public void AppendView(View view, IReadOnlyList<(int Id, long Endpoint)> members, GroupLayout? lastAdequate)
    {
        var version = 2 * view.Id;
        if (version <= _log.LastVersion)
        {
            // Only a group formed again from scratch (its other members' disks wiped) goes back in view ids.
            _logger.LogWarning("View log: view {View} follows view {Logged}; the group was formed anew, so the old views are dropped", view.Id, Newest?.ViewId);
            _log.TruncateAfter(-1);
        }
        var logged = new LoggedView(view.Id, members.Select(m => m.Id).ToArray(), members.Select(m => m.Endpoint).ToArray(), lastAdequate?.Serialize() ?? []);
        _log.Append(version, DateTime.UtcNow, MemoryPackSerializer.Serialize(logged));
        _log.Flush();
        Newest = logged;
        _log.TrimBefore(version - 2 * ViewsKept);
    }

    /// <summary>Logs the ragged trim applied in view <paramref name="viewId"/> (durably), before it is delivered.</summary>
    public void AppendTrim(long viewId, long[] trim)
    {
        var version = 2 * viewId + 1;
        if (version <= _log.LastVersion) return; // a new leader re-proposing the same trim
        _log.Append(version, DateTime.UtcNow, MemoryPackSerializer.Serialize(trim));
        _log.Flush();
    }

    public void Dispose() => _log.Dispose();
}
