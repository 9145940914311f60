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
