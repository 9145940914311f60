using Derecho.Membership;
using Derecho.Sst;

namespace Derecho.Replication;

/// <summary>
/// What is on disk where: each member publishes, per shard, the newest version it has on disk (the SST's
/// persisted column); a version every member of the shard has on disk is globally persisted. A view change
/// finishes only once the trim's deliveries are on disk here. The rule for "on disk" is
/// <see cref="ShardReplica.IsDurable"/>.
/// </summary>
internal sealed class Durability(ReplicaStore replicas, ViewSlot views)
{
    private long _lastPersisted = -1;
    private long _lastGloballyPersisted = -1;

    /// <summary>Raised (on the thread pool) when this member has every version up to the given one on disk.</summary>
    public event Action<long>? Persisted;

    /// <summary>Raised (on the thread pool) when every member of this member's shard(s) has every version up to the given one on disk.</summary>
    public event Action<long>? GloballyPersisted;

    /// <summary>Highest version every member of this member's shards has on disk (the least over its shards; -1 before any).</summary>
    public long GloballyPersistedVersion => Interlocked.Read(ref _lastGloballyPersisted);

    /// <summary>Highest version every member of a shard has on disk (-1: none, or this member is not in it).</summary>
    public long GloballyPersistedVersionOf(uint typeId, int shard)
    {
        var view = views.Installed;
        if (view.Find(typeId, shard) is not { } active) return -1;
        return view.Sst.PersistedEverywhere(active.Global, active.Ranks);
    }

    /// <summary>Whether every version the wedged view's replicas logged here, the trim's deliveries included, is on disk.</summary>
    public bool TrimDeliveriesPersisted()
    {
        foreach (var shard in views.Installed.MyShards)
            if (!replicas.ReplicaFor(shard.TypeId, shard.Shard, shard.Members).AllLoggedDurable) return false;
        return true;
    }

    /// <summary>Protocol step: publish, per shard, what this member has on disk; raise the events when the least moved.</summary>
    public bool PersistedStep()
    {
        var view = views.Installed;
        var sst = view.Sst;
        var progress = false;
        long mineLeast = long.MaxValue, everywhereLeast = long.MaxValue;
        var shards = view.MyShards;
        for (var s = 0; s < shards.Count; s++) // runs every iteration: no enumerator allocation
        {
            var shard = shards[s];
            var replica = replicas.ReplicaFor(shard.TypeId, shard.Shard, shard.Members);
            if (replica.Context.Log is null) continue;
            var mine = replica.PersistedVersion;
            if (mine > sst.PersistedVersion(sst.MyRank, shard.Global))
            {
                sst.PublishPersistedVersion(shard.Global, mine);
                progress = true;
            }
            mineLeast = Math.Min(mineLeast, mine);
            everywhereLeast = Math.Min(everywhereLeast, sst.PersistedEverywhere(shard.Global, shard.Ranks)); // Ranks holds us: never empty
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

    /// <summary>Stable time frontier of this replica: the least agreed time over its shards.</summary>
    public DateTime StableTime()
    {
        var ticks = long.MaxValue;
        foreach (var shard in views.Installed.MyShards) ticks = Math.Min(ticks, replicas.ReplicaFor(shard.TypeId, shard.Shard, shard.Members).AgreedTicks);
        return new DateTime(ticks == long.MaxValue ? DateTime.MinValue.Ticks : Math.Max(ticks, DateTime.MinValue.Ticks), DateTimeKind.Utc);
    }
}
