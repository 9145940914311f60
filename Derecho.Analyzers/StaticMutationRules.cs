using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

/// <summary>
/// DER0005 beyond plain assignments: static state changed through a call (<c>s_list.Add(x)</c>,
/// <c>s_cache.GetOrAdd(...)</c>), through a <c>ref</c> (<c>Interlocked.Increment(ref s_count)</c>), or through
/// an indexer, property or field of an object a static field holds (<c>s_map[k] = v</c>).
/// </summary>
internal static class StaticMutationRules
{
    // Names of the BCL's mutating collection and builder methods; reads (TryGetValue, Contains, Count) are fine.
    private static readonly HashSet<string> MutatingMethods = new()
    {
        "Add", "AddRange", "Insert", "InsertRange", "Remove", "RemoveAt", "RemoveAll", "RemoveRange", "RemoveWhere",
        "Clear", "Push", "Pop", "Enqueue", "Dequeue", "TryAdd", "TryRemove", "TryUpdate", "AddOrUpdate", "GetOrAdd",
        "TryDequeue", "TryPop", "TryTake", "Take", "Sort", "Reverse", "UnionWith", "IntersectWith", "ExceptWith",
        "SymmetricExceptWith", "TrimExcess", "Append", "AppendLine", "AppendFormat", "Replace", "Set", "SetAll",
        "CopyFrom", "Fill",
    };

    // Reads that take a ref for atomicity only.
    private static readonly HashSet<string> RefReads = new() { "System.Threading.Volatile.Read", "System.Threading.Interlocked.Read" };

    public static void Invocation(IInvocationOperation operation, List<Finding> findings)
    {
        var method = operation.TargetMethod;
        if (!method.IsStatic && MutatingMethods.Contains(method.Name) && !IsImmutable(method.ContainingType)
            && operation.Instance.StaticRoot() is { } root)
        {
            findings.Add(Static(operation, root));
            return;
        }
        if (RefReads.Contains(KnownSymbols.NameOf(method.ContainingType) + "." + method.Name)) return;
        foreach (var argument in operation.Arguments)
            if (argument.Parameter?.RefKind is RefKind.Ref or RefKind.Out && argument.Value.StaticRoot() is { } written)
            {
                findings.Add(Static(operation, written));
                return;
            }
    }

    /// <summary>Assignments whose target is a static property, or a member or element of a static's object.</summary>
    public static void Write(IOperation target, IOperation operation, List<Finding> findings)
    {
        target = target.Unwrap();
        if (target is IFieldReferenceOperation { Field.IsStatic: true }) return; // DeterminismRules.Write reports it
        if (target.StaticRoot() is { } root) findings.Add(Static(operation, root));
    }

    /// <summary>A BCL collection or builder method that changes the object it is called on.</summary>
    public static bool IsMutating(IMethodSymbol method) => MutatingMethods.Contains(method.Name) && !IsImmutable(method.ContainingType);

    // Their "mutators" return a new value and leave the static one as it was.
    private static bool IsImmutable(INamedTypeSymbol type) =>
        type.SpecialType == SpecialType.System_String
        || type.ContainingNamespace?.ToDisplayString() is "System.Collections.Immutable" or "System.Collections.Frozen";

    private static Finding Static(IOperation operation, ISymbol root) =>
        new(Descriptors.StaticWrite, operation.Syntax.GetLocation(), operation.Syntax.ToString(), root.Name, null, ForP2P: false);
}
