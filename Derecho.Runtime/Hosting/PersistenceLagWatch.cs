namespace Derecho.Hosting;

/// <summary>
/// Since when each shard's disk has been behind: the first check that sees a logged version not yet persisted
/// notes it and the time; once that version is on disk the watch starts over from the newest logged one.
/// Under steady load the lag measured is how long a version waits for its fsync, not how long the disk was
/// ever behind.
/// </summary>
internal sealed class PersistenceLagWatch
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Type, int Shard), (long Version, DateTimeOffset Since)> _behind = new();

    /// <summary>How long the version this watch waits for in <paramref name="shard"/> has been unpersisted (zero if none).</summary>
    public TimeSpan BehindFor(ShardStatus shard, DateTimeOffset now)
    {
        var key = (shard.Type, shard.Shard);
        lock (_gate)
        {
            if (!shard.PersistenceBehind)
            {
                _behind.Remove(key);
                return TimeSpan.Zero;
            }
            if (!_behind.TryGetValue(key, out var waiting) || shard.Persisted >= waiting.Version)
                _behind[key] = waiting = (shard.Logged, now);
            return now - waiting.Since;
        }
    }
}
