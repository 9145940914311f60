using Microsoft.Extensions.Logging;

namespace Derecho.Hosting;

/// <summary>Durability of versioned state: total-restart recovery, persisted versions, the stable time frontier.</summary>
public sealed partial class DerechoGroup
{
    /// <summary>Raised (on the thread pool) when this member has every version up to the given one on disk.</summary>
    public event Action<long>? Persisted;

    /// <summary>Raised (on the thread pool) when every member of the view has every version up to the given one on disk.</summary>
    public event Action<long>? GloballyPersisted;

    /// <summary>Highest version every member of the view has on disk (-1 before any).</summary>
    public long GloballyPersistedVersion => Interlocked.Read(ref _lastGloballyPersisted);

    /// <summary>
    /// Stable time frontier of this replica: no version it creates from now on can be stamped at or before
    /// it. Reads at a time before the frontier return the same value on every replica of the shard.
    /// </summary>
    public DateTime StableTime => new(Math.Max(_engine.FrontierTicks, DateTime.MinValue.Ticks), DateTimeKind.Utc);

    /// <summary>
    /// Waits until <see cref="StableTime"/> has passed <paramref name="time"/>, so reads at that time are final
    /// here and identical on every replica, with no lock anywhere. When the group is idle an ordered time
    /// barrier moves the frontier. With <paramref name="failFast"/> it throws instead of waiting.
    /// </summary>
    public async Task WaitForStableTimeAsync(DateTime time, bool failFast = false, CancellationToken cancellationToken = default)
    {
        var ticks = time.ToUniversalTime().Ticks;
        if (_engine.FrontierTicks > ticks) return;
        if (failFast) throw new InvalidOperationException($"time {time:O} is not stable yet at member {MyId} (frontier {StableTime:O})");
        var wait = time.ToUniversalTime() - DateTime.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait + TimeSpan.FromMilliseconds(1), cancellationToken).ConfigureAwait(false);
        while (_engine.FrontierTicks <= ticks)
            await _engine.SendTimeBarrier().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Total restart: once every row published what its logs hold, cut every log back to the smallest, so
    /// all replicas start from the same versions (everything reported globally persisted is in all of them).
    /// Runs before delivery: nothing can be stable before every row is visible.
    /// </summary>
    private bool RecoverStep()
    {
        if (!_recoveryPending) return false;
        var sst = _current.Sst;
        var common = long.MaxValue;
        for (var r = 0; r < sst.Rows; r++)
        {
            var published = sst.Get(r, sst.Layout.Recovered);
            if (published == 0) return false;
            common = Math.Min(common, published - 2);
        }
        foreach (var field in _engine.PersistentFields)
            if (field.LoggedVersion > common) field.TruncateAfter(common);
        _recoveryPending = false;
        _logger.LogInformation("Member {Id} starts from version {Version}, the newest every member recovered", MyId, common);
        _recovered.TrySetResult();
        return true;
    }

    /// <summary>Publishes what this member has on disk; when every row has a version on disk, it is globally persisted.</summary>
    private bool PersistedStep()
    {
        var sst = _current.Sst;
        var fields = _engine.PersistentFields;
        long mine = long.MaxValue, newest = -1;
        for (var i = 0; i < fields.Count; i++)
        {
            var field = fields[i];
            newest = Math.Max(newest, field.LoggedVersion);
            if (field.PersistedVersion < field.LoggedVersion) mine = Math.Min(mine, field.PersistedVersion);
        }
        if (mine == long.MaxValue) mine = newest;
        var progress = false;
        if (mine > sst.Get(sst.MyRank, sst.Layout.Persisted) - 1)
        {
            sst.Set(sst.Layout.Persisted, mine + 1); // +1: a fresh row (0) reads as "nothing yet"
            progress = true;
            if (mine > _lastPersisted)
            {
                _lastPersisted = mine;
                var local = Persisted;
                if (local is not null) ThreadPool.QueueUserWorkItem(_ => local(mine));
            }
        }
        var everywhere = sst.Min(sst.Layout.Persisted) - 1;
        if (everywhere > Interlocked.Read(ref _lastGloballyPersisted))
        {
            Interlocked.Exchange(ref _lastGloballyPersisted, everywhere);
            var global = GloballyPersisted;
            if (global is not null) ThreadPool.QueueUserWorkItem(_ => global(everywhere));
        }
        return progress;
    }
}
