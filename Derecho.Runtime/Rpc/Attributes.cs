namespace Derecho.Rpc;

/// <summary>Marks a partial class whose <see cref="OrderedAttribute"/> methods are replicated by state machine replication.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ReplicatedAttribute : Attribute;

/// <summary>A state-changing method delivered in one total order at every replica of the shard.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class OrderedAttribute : Attribute;

/// <summary>A read-only method run on one chosen member.</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class P2PCallableAttribute : Attribute;

/// <summary>
/// An event a caller sends to ONE member of a shard (Cascade's <c>trigger_put</c>): neither ordered nor stored,
/// with no result for the caller. The stub, on <c>ShardHandle&lt;T&gt;.Trigger</c>, returns a task that completes
/// once the receiving member accepted the event (queued it for its handler) and faults with a
/// <see cref="Errors.TriggerNotAcceptedException"/> when it did not: the member died, was unreachable, refused
/// the batch (unauthorized, overloaded) or did not answer in time. Callers may ignore the task (fire and forget).
/// The handler may return <c>void</c>, <see cref="Task"/> or <see cref="ValueTask"/>; it runs on the receiving
/// member off the protocol thread, one event at a time per replica, and may make calls into any subgroup
/// (through <see cref="Persistence.IReplicaContext.Subgroup{T}"/>).
/// <para>
/// A trigger handler runs concurrently with the replica's ordered handlers. It must only read versioned fields
/// (which are safe to read lock-free) or state of its own that is thread-safe, and it must change replicated
/// state only through ordered calls: a write from a trigger handler would be seen by one replica only.
/// </para>
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class TriggerAttribute : Attribute;
