namespace Derecho.Transport;

/// <summary>
/// Regions a peer may write into one-sidedly. A region id is relative to the writing peer: peer j's
/// writes to <see cref="SstRow"/> land in row j of our table copy and nowhere else, so a member can only
/// ever change its own row, as the SST requires.
/// </summary>
internal enum RegionKind : byte
{
    /// <summary>The writer's row of the shared state table.</summary>
    SstRow = 0,
    /// <summary>The writer's small-message multicast slot ring of shard 0; shard g's ring is <c>MulticastRing + g</c>.</summary>
    MulticastRing = 1,
}

/// <summary>Region ids of shard rings.</summary>
internal static class Regions
{
    /// <summary>Most shards (over all subgroups) one view can hold: every ring needs a region id.</summary>
    public const int MaxShards = 255 - (int)RegionKind.MulticastRing;

    /// <summary>The region of the writer's ring in shard <paramref name="shard"/> (global number).</summary>
    public static RegionKind Ring(int shard) =>
        (uint)shard < MaxShards ? (RegionKind)((int)RegionKind.MulticastRing + shard) : throw new ArgumentOutOfRangeException(nameof(shard), $"a view holds at most {MaxShards} shards");
}
