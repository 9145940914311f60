using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Derecho.CodeAnalysis;

/// <summary>
/// Which [Replicated] types can give their state to a member new to a shard. One source file linked into the
/// generator (which emits CanTransferState from it) and the analyzer (which reports DER0009 where it is
/// false), so the compile-time warning and the runtime refusal of joiners always agree.
/// </summary>
internal static class ReplicaStateRule
{
    public static bool ImplementsReplicaState(INamedTypeSymbol type) =>
        type.AllInterfaces.Any(i => i.ToDisplayString() == "Derecho.Rpc.IReplicaState");

    public static bool IsMemoryPackable(INamedTypeSymbol type) =>
        type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == "MemoryPack.MemoryPackableAttribute");

    /// <summary>
    /// Instance fields (auto-property backing fields included) whose contents the runtime does not transfer:
    /// all but readonly versioned fields, which it sends itself, and the replica context, which is not state.
    /// </summary>
    public static IEnumerable<IFieldSymbol> UntransferredFields(INamedTypeSymbol type) =>
        type.GetMembers().OfType<IFieldSymbol>().Where(f => !f.IsStatic && !f.IsConst && !(f.IsReadOnly && IsRuntimeManaged(f.Type)));

    private static bool IsRuntimeManaged(ITypeSymbol type) =>
        type.OriginalDefinition.ToDisplayString() is "Derecho.Persistence.Persistent<T>" or "Derecho.Persistence.Volatile<T>" or "Derecho.Persistence.Versioned<T>" or "Derecho.Persistence.IReplicaContext";
}
