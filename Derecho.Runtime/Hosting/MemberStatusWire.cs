using Derecho.Wire;

namespace Derecho.Hosting;

/// <summary>A <see cref="MemberStatus"/> as a status reply carries it (<see cref="StatusMessages"/>).</summary>
internal static class MemberStatusWire
{
    public static StatusAnswer ToAnswer(MemberStatus status) => new(
        status.MyId,
        (byte)status.State,
        status.ViewId,
        [.. status.Members],
        [.. status.Shards.Select(s => new StatusShard(s.TypeId, s.Type, s.Shard, s.Replicas, s.MaxReplicas, s.Persistent, s.Delivered, s.Logged, s.Persisted, s.GloballyPersisted))],
        status.Reason,
        DateTime.UtcNow.Ticks);
}
