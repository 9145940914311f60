namespace Derecho.Generators.Model;

/// <summary>Everything the emitter needs about one [Replicated] type; no symbols, so it caches.</summary>
internal sealed record ReplicatedTypeDescription(
    string? Namespace,
    string Name,
    string Keyword,
    string FullyQualifiedName,
    string HintName,
    string ProxyClassName,
    bool IsPublic,
    StateTransfer StateTransfer,
    uint TypeId,
    EquatableArray<ContainingTypeDescription> ContainingTypes,
    EquatableArray<MethodDescription> Methods);

/// <summary>How a joining member gets the replica's state.</summary>
internal enum StateTransfer
{
    /// <summary>Neither: joins fail with a message saying what to add.</summary>
    None,
    /// <summary>The type is [MemoryPackable]: serialize it whole, deserialize over the existing instance.</summary>
    MemoryPack,
    /// <summary>The type implements Derecho.Rpc.IReplicaState.</summary>
    Custom,
    /// <summary>All instance state is in versioned fields, which the runtime transfers itself.</summary>
    VersionedFieldsOnly,
}

/// <summary>A type that encloses a nested [Replicated] type (it must be partial too).</summary>
internal sealed record ContainingTypeDescription(string Keyword, string Name);

/// <summary>An [Ordered], [P2PCallable] or [Trigger] method; a trigger's <see cref="ReturnType"/> is null, Task or ValueTask.</summary>
internal sealed record MethodDescription(
    string Name,
    CallKind Kind,
    uint Id,
    string Signature,
    string? ReturnType,
    EquatableArray<ParameterDescription> Parameters,
    EquatableArray<string> DocumentationLines);

/// <summary>How a method is called.</summary>
internal enum CallKind
{
    Ordered,
    P2P,
    Trigger,
}

/// <summary>A method parameter; <see cref="DefaultValue"/> is C# source text or null.</summary>
internal sealed record ParameterDescription(string Name, string Type, string? DefaultValue);
