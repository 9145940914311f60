using Derecho.Layout;

namespace Derecho.Replication;

/// <summary>
/// A type whose state cannot be sent (neither [MemoryPackable] nor IReplicaState, with state beyond its
/// versioned fields) can never be given to a member new to one of its shards. Said in one place: for the
/// member that refuses a join, the old member that cannot send a shard's state, and whoever they tell.
/// </summary>
internal static class StateTransferRule
{
    /// <summary>Why <paramref name="typeName"/>'s state cannot be sent to a new member, and what to change.</summary>
    public static string CannotTransfer(string typeName) =>
        $"replicated type {typeName} has state outside its versioned fields (Persistent<T>, Volatile<T>) and no state transfer, " +
        "so a new member can never be given it: mark the type [MemoryPackable] or implement Derecho.Rpc.IReplicaState";

    /// <summary>
    /// Why no process can join a group hosting <paramref name="registrations"/>, or null. Any such type counts,
    /// not only the shards the joiner would enter first: a later layout may move it into any shard.
    /// </summary>
    public static string? WhyJoinsAreRefused(IEnumerable<SubgroupRegistration> registrations)
    {
        var blocked = registrations.Where(r => !r.CanTransferState).Select(r => CannotTransfer(r.Name)).ToList();
        return blocked.Count == 0 ? null : string.Join("; ", blocked);
    }
}
