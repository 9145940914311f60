namespace Derecho.Transport;

/// <summary>
/// Regions a peer may write into one-sidedly. A region id is relative to the writing peer: peer j's
/// writes to <see cref="SstRow"/> land in row j of our table copy and nowhere else, so a member can only
/// ever change its own row, as the SST requires.
/// </summary>
public enum RegionKind : byte
{
    /// <summary>The writer's row of the shared state table.</summary>
    SstRow = 0,
    /// <summary>The writer's small-message multicast slot ring.</summary>
    MulticastRing = 1,
}
