using Derecho.Membership;
using Microsoft.Extensions.Logging;

namespace Derecho.Hosting;

/// <summary>Durability of versioned state: total-restart recovery, persisted versions, the stable time frontier.</summary>
public sealed partial class DerechoGroup
{
    /// <summary>Raised (on the thread pool) when this member has every version up to the given one on disk.</summary>
    public event Action<long>? Persisted;

    /// <summary>Raised (on the thread pool) when every member of this member's shard(s) has every version up to the given one on disk.</summary>
    public event Action<long>? GloballyPersisted;

    /// <summary>
    /// Highest version every member of this member's shard has on disk (-1 before any). A member of several
    /// shards reports the least over them (versions of different shards are not comparable; see
    /// <see cref="GloballyPersistedVersionOf{T}"/>).
    /// </summary>
    public long GloballyPersistedVersion => Interlocked.Read(ref _lastGloballyPersisted);

    /// <summary>Highest version every member of shard <paramref name="shard"/> of <typeparamref name="T"/> has on disk (-1: none, or not a member).</summary>
    public long GloballyPersistedVersionOf<T>(int shard = 0) where T : class, Rpc.IReplicatedType
    {
        var view = Volatile.Read(ref _current);
        if (view.Find(T.ReplicatedTypeId, shard) is not { } active) return -1;
        var columns = view.Sst.Layout.Shard(active.Global);
        return view.Sst.Min(columns.Persisted, active.Ranks) - 1;
    }

    /// <summary>
    /// Stable time frontier of this replica (the least over its shards): no version it creates from now on can
    /// be stamped at or before it. Reads at a time before the frontier return the same value on every replica of the shard.
    /// </summary>
    public DateTime StableTime
    {
        get
        {
            var view = Volatile.Read(ref _current);
            var ticks = long.MaxValue;
            foreach (var shard in view.MyShards) ticks = Math.Min(ticks, _engine.ReplicaFor(shard.TypeId, shard.Shard, shard.Members).AgreedTicks);
            return new DateTime(ticks == long.MaxValue ? DateTime.MinValue.Ticks : Math.Max(ticks, DateTime.MinValue.Ticks), DateTimeKind.Utc);
        }
    }

    /// <summary>
    /// Waits until <see cref="StableTime"/> has passed <paramref name="time"/>, so reads at that time are final
    /// here and identical on every replica, with no lock anywhere. When a shard is idle an ordered time
    /// barrier moves its frontier. With <paramref name="failFast"/> it throws instead of waiting.
    /// </summary>
    public async Task WaitForStableTimeAsync(DateTime time, bool failFast = false, CancellationToken cancellationToken = default)
    {
        var ticks = time.ToUniversalTime().Ticks;
        if (StableTime.Ticks > ticks) return;
        if (failFast) throw new InvalidOperationException($"time {time:O} is not stable yet at member {MyId} (frontier {StableTime:O})");
        var wait = time.ToUniversalTime() - DateTime.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait + TimeSpan.FromMilliseconds(1), cancellationToken).ConfigureAwait(false);
        while (StableTime.Ticks <= ticks)
        {
            var barriers = Volatile.Read(ref _current).MyShards.Select(s => _engine.SendTimeBarrier(s.TypeId, s.Shard)).ToList();
            if (barriers.Count == 0) throw new InvalidOperationException($"member {MyId} holds no shard in view {View.Id}");
            await Task.WhenAll(barriers).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    void IViewChangeHost.LogTrim(long viewId, long[] trim) => _viewLog.AppendTrim(viewId, trim);

    bool IViewChangeHost.TrimDeliveriesPersisted()
    {
        // The view is wedged: whatever its replicas logged, the trim's deliveries included, is all that can wait for the disk.
        foreach (var shard in _current.MyShards)
            if (!_engine.ReplicaFor(shard.TypeId, shard.Shard, shard.Members).AllLoggedDurable) return false;
        return true;
    }

    /// <summary>Publishes, per shard, what this member has on disk; when every member of a shard has a version on disk, it is globally persisted.</summary>
    private bool PersistedStep()
    {
        var view = _current;
        var sst = view.Sst;
        var progress = false;
        long mineLeast = long.MaxValue, everywhereLeast = long.MaxValue;
        var shards = view.MyShards;
        for (var s = 0; s < shards.Count; s++) // runs every iteration: no enumerator allocation
        {
            var shard = shards[s];
            if (_engine.ReplicaFor(shard.TypeId, shard.Shard, shard.Members).Context.Log is not { } log) continue;
            var mine = log.PersistedVersion;
            var columns = sst.Layout.Shard(shard.Global);
            if (mine > sst.Get(sst.MyRank, columns.Persisted) - 1)
            {
                sst.Set(columns.Persisted, mine + 1); // +1: a fresh row (0) reads as "nothing yet"
                progress = true;
            }
            mineLeast = Math.Min(mineLeast, mine);
            var everywhere = long.MaxValue;
            foreach (var rank in shard.Ranks) everywhere = Math.Min(everywhere, sst.Get(rank, columns.Persisted) - 1);
            everywhereLeast = Math.Min(everywhereLeast, everywhere);
        }
        if (mineLeast != long.MaxValue && mineLeast > _lastPersisted)
        {
            _lastPersisted = mineLeast;
            var local = Persisted;
            if (local is not null) ThreadPool.QueueUserWorkItem(_ => local(mineLeast));
        }
        if (everywhereLeast != long.MaxValue && everywhereLeast > Interlocked.Read(ref _lastGloballyPersisted))
        {
            Interlocked.Exchange(ref _lastGloballyPersisted, everywhereLeast);
            var global = GloballyPersisted;
            if (global is not null) ThreadPool.QueueUserWorkItem(_ => global(everywhereLeast));
        }
        return progress;
    }
}
