using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

/// <summary>
/// DER0006: enumerating a hash collection whose order follows per-process hashes (string, object or
/// identity-hashed keys), unless the code makes the order deterministic before it matters.
/// </summary>
internal static class HashOrderRules
{
    private static readonly HashSet<string> HashCollections = new()
    {
        "System.Collections.Generic.HashSet", "System.Collections.Generic.Dictionary",
        "System.Collections.Generic.Dictionary.KeyCollection", "System.Collections.Generic.Dictionary.ValueCollection",
        "System.Collections.Concurrent.ConcurrentDictionary", "System.Collections.Immutable.ImmutableHashSet",
        "System.Collections.Immutable.ImmutableDictionary",
    };

    private static readonly HashSet<string> Sorts = new() { "OrderBy", "OrderByDescending", "Order", "OrderDescending" };

    // Keep the elements (not their order) as they come, so a sort further down the chain still decides the order.
    private static readonly HashSet<string> OrderFree = new() { "Where", "Select", "SelectMany", "Cast", "OfType", "Distinct", "Concat", "Append", "Prepend" };

    // Give the same answer in any order (integral sums only: floating-point addition is not associative).
    private static readonly HashSet<string> OrderIndependent = new() { "Count", "LongCount", "Any", "All", "Contains", "Min", "Max", "ToHashSet" };

    public static void ForEach(IForEachLoopOperation operation, List<Finding> findings)
    {
        if (IsHashOrdered(operation.Collection)) findings.Add(Found(operation.Collection, operation.Collection));
    }

    /// <summary>A LINQ call on a hash collection, unless a sort or an order-independent answer follows.</summary>
    public static void Linq(IInvocationOperation operation, List<Finding> findings)
    {
        var collection = operation.Arguments[0].Value;
        if (!IsHashOrdered(collection) || OrderIsMadeDeterministic(operation)) return;
        findings.Add(Found(collection, operation));
    }

    private static bool OrderIsMadeDeterministic(IInvocationOperation call)
    {
        for (var current = call; ;)
        {
            var name = current.TargetMethod.Name;
            if (Sorts.Contains(name) || OrderIndependent.Contains(name) || name == "Sum" && IsIntegral(current.Type)) return true;
            if (name is "ToArray" or "ToList") return IsSortedAfterwards(current);
            if (!OrderFree.Contains(name) || NextInChain(current) is not { } next) return false;
            current = next;
        }
    }

    /// <summary>The LINQ call that takes <paramref name="call"/>'s result as its source, if any.</summary>
    private static IInvocationOperation? NextInChain(IInvocationOperation call)
    {
        var parent = call.Parent;
        while (parent is IConversionOperation) parent = parent.Parent;
        return parent is IArgumentOperation { Parent: IInvocationOperation next } argument
               && next.Arguments.Length > 0 && next.Arguments[0] == argument
               && KnownSymbols.NameOf(next.TargetMethod.ContainingType) == "System.Linq.Enumerable" ? next : null;
    }

    /// <summary><c>var a = set.ToArray(); Array.Sort(a);</c> or <c>list.Sort()</c> on the copy, in the same body.</summary>
    private static bool IsSortedAfterwards(IInvocationOperation copy)
    {
        var parent = copy.Parent;
        while (parent is IConversionOperation) parent = parent.Parent;
        ILocalSymbol? local = parent switch
        {
            IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } => declarator.Symbol,
            ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } => target.Local,
            _ => null,
        };
        if (local is null) return false;
        var body = copy as IOperation;
        while (body.Parent is not null) body = body.Parent;
        return body.Descendants().OfType<IInvocationOperation>().Any(i => i.TargetMethod.Name == "Sort" && SortsLocal(i, local));
    }

    private static bool SortsLocal(IInvocationOperation sort, ILocalSymbol local)
    {
        var target = sort.TargetMethod.IsStatic ? sort.Arguments.FirstOrDefault()?.Value : sort.Instance;
        return target?.Unwrap() is ILocalReferenceOperation reference && SymbolEqualityComparer.Default.Equals(reference.Local, local);
    }

    private static bool IsHashOrdered(IOperation collection)
    {
        var type = collection.Unwrap().Type as INamedTypeSymbol;
        if (type is null || !HashCollections.Contains(KnownSymbols.NameOf(type))) return false;
        var keyed = type.ContainingType is { } outer && KnownSymbols.NameOf(type).EndsWith("Collection", System.StringComparison.Ordinal) ? outer : type;
        if (keyed.TypeArguments.Length == 0) return false;
        var key = keyed.TypeArguments[0];
        return key.SpecialType is SpecialType.System_String or SpecialType.System_Object || HashCodeRules.HasIdentityHash(key);
    }

    private static bool IsIntegral(ITypeSymbol? type) =>
        type?.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Decimal
            or SpecialType.System_UInt32 or SpecialType.System_UInt64;

    private static Finding Found(IOperation collection, IOperation at) =>
        Finding.Ordered(Descriptors.HashOrderEnumeration, at, collection.Unwrap().Syntax.ToString());
}
