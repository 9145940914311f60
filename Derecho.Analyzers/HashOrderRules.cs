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

    // Calls that copy a sequence, in its order, into a string or an ordered collection: "Type.Method" (C# keywords for special types).
    private static readonly HashSet<string> OrderedSinks = new()
    {
        "string.Join", "string.Concat", "System.Text.StringBuilder.AppendJoin",
        "System.Collections.Generic.List.AddRange", "System.Collections.Generic.List.InsertRange",
        "System.Collections.Immutable.ImmutableArray.CreateRange", "System.Collections.Immutable.ImmutableArray.ToImmutableArray",
        "System.Collections.Immutable.ImmutableList.CreateRange", "System.Collections.Immutable.ImmutableList.ToImmutableList",
        "System.Collections.Immutable.ImmutableQueue.CreateRange", "System.Collections.Immutable.ImmutableStack.CreateRange",
        "System.Collections.Immutable.ImmutableArray.Builder.AddRange", "System.Collections.Immutable.ImmutableList.Builder.AddRange",
    };

    // Collections whose constructor keeps the order of the sequence it is given.
    private static readonly HashSet<string> OrderedCollections = new()
    {
        "System.Collections.Generic.List", "System.Collections.Generic.Queue", "System.Collections.Generic.Stack",
        "System.Collections.Generic.LinkedList", "System.Collections.ObjectModel.ObservableCollection",
    };

    // Where a string made from the order may go without any replica's state or answer depending on it.
    private static readonly HashSet<string> OutputOnly = new()
    {
        "System.Console", "System.Diagnostics.Debug", "System.Diagnostics.Trace", "Microsoft.Extensions.Logging.LoggerExtensions",
        "Microsoft.Extensions.Logging.ILogger",
    };

    public static void ForEach(IForEachLoopOperation operation, MethodFacts facts) => Add(facts, operation.Collection, operation.Collection);

    /// <summary>A LINQ call on a hash collection, unless a sort or an order-independent answer follows.</summary>
    public static void Linq(IInvocationOperation operation, MethodFacts facts)
    {
        var collection = operation.Arguments[0].Value;
        if (IsSource(collection, facts) && !OrderIsMadeDeterministic(operation)) Add(facts, collection, operation);
    }

    /// <summary>
    /// A hash collection passed whole to a method of the compilation as a sequence (<c>IEnumerable&lt;T&gt;</c>, any
    /// collection interface): what that method does with the parameter's order is judged there (<see cref="Add"/>).
    /// </summary>
    public static void Passed(CallGraph graph, MethodFacts facts, IMethodSymbol? callee, IEnumerable<IArgumentOperation> arguments)
    {
        if (graph.Normalize(callee) is not { } method) return;
        foreach (var argument in arguments)
            if (argument.Parameter is { } parameter && IsSequenceInterface(parameter.Type) && IsHashOrdered(argument.Value))
                facts.HashPassed.Add((method, parameter.Ordinal));
    }

    /// <summary>A hash collection here, or a parameter of the body a caller may have passed one as.</summary>
    private static bool IsSource(IOperation collection, MethodFacts facts) => IsHashOrdered(collection) || SequenceParameter(collection, facts) is not null;

    private static IParameterSymbol? SequenceParameter(IOperation collection, MethodFacts facts) =>
        collection.Unwrap() is IParameterReferenceOperation { Parameter: var parameter }
        && SymbolEqualityComparer.Default.Equals(parameter.ContainingSymbol.OriginalDefinition, facts.Owner) && IsSequenceInterface(parameter.Type)
            ? parameter : null;

    private static bool IsSequenceInterface(ITypeSymbol type) =>
        type.TypeKind == TypeKind.Interface
        && (type.SpecialType is SpecialType.System_Collections_IEnumerable or SpecialType.System_Collections_Generic_IEnumerable_T
            || type.OriginalDefinition.SpecialType == SpecialType.System_Collections_Generic_IEnumerable_T
            || type.AllInterfaces.Any(i => i.SpecialType == SpecialType.System_Collections_IEnumerable));

    /// <summary>The finding for a hash collection; for a sequence parameter, one counted where a caller passes a hash collection.</summary>
    private static void Add(MethodFacts facts, IOperation collection, IOperation at)
    {
        if (IsHashOrdered(collection)) facts.Findings.Add(Found(collection, at));
        else if (SequenceParameter(collection, facts) is { } parameter) facts.ParameterEnumerations.Add((parameter.Ordinal, Found(collection, at)));
    }

    /// <summary>
    /// A hash collection given whole to a call that copies it in order (<c>string.Join(",", set)</c>,
    /// <c>list.AddRange(set)</c>, <c>set.CopyTo(array)</c>), unless the copy is sorted afterwards or only written out.
    /// </summary>
    public static void Sink(IInvocationOperation operation, MethodFacts facts)
    {
        var method = operation.TargetMethod;
        var name = KnownSymbols.NameOf(method.ContainingType) + "." + method.Name;
        if (method.Name == "CopyTo" && operation.Instance is { } instance && IsSource(instance, facts))
        {
            Add(facts, instance, operation);
            return;
        }
        if (!OrderedSinks.Contains(name)) return;
        var collection = operation.Arguments.Select(a => a.Value).FirstOrDefault(v => v.Type?.SpecialType != SpecialType.System_String && IsSource(v, facts));
        if (collection is null || IsOutputOnly(operation)) return;
        if (operation.Instance?.Unwrap() is ILocalReferenceOperation target && IsSortedInBody(operation, target.Local)) return;
        if (method.ReturnType.SpecialType != SpecialType.System_String && IsSortedAfterwards(operation)) return;
        Add(facts, collection, operation);
    }

    /// <summary><c>new List&lt;T&gt;(set)</c> and the other collections that keep the order they are given.</summary>
    public static void Creation(IObjectCreationOperation operation, MethodFacts facts)
    {
        if (operation.Type is not INamedTypeSymbol type || !OrderedCollections.Contains(KnownSymbols.NameOf(type))) return;
        var collection = operation.Arguments.Select(a => a.Value).FirstOrDefault(v => IsSource(v, facts));
        if (collection is not null && !IsSortedAfterwards(operation)) Add(facts, collection, operation);
    }

    /// <summary><c>[.. set]</c> into an array, a list or anything else that is not itself a set or a sorted collection.</summary>
    public static void Spread(ICollectionExpressionOperation operation, MethodFacts facts)
    {
        var spread = operation.Elements.OfType<ISpreadOperation>().Select(s => s.Operand).FirstOrDefault(v => IsSource(v, facts));
        if (spread is null || operation.Type is null) return;
        var target = KnownSymbols.NameOf(operation.Type);
        if (HashCollections.Contains(target) || target.Contains("Sorted") || target.Contains("Frozen") || target.EndsWith("HashSet", System.StringComparison.Ordinal)) return;
        if (!IsSortedAfterwards(operation)) Add(facts, spread, operation);
    }

    /// <summary>A string made from the order that only goes to the console, a trace or a log (through concatenation or interpolation).</summary>
    private static bool IsOutputOnly(IOperation operation)
    {
        for (var parent = operation.Parent; parent is not null; parent = parent.Parent)
            switch (parent)
            {
                case IConversionOperation or IBinaryOperation or IInterpolationOperation or IInterpolatedStringOperation or IArgumentOperation:
                    continue;
                case IInvocationOperation call:
                    return OutputOnly.Contains(KnownSymbols.NameOf(call.TargetMethod.ContainingType));
                default:
                    return false;
            }
        return false;
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
    private static bool IsSortedAfterwards(IOperation copy)
    {
        var parent = copy.Parent;
        while (parent is IConversionOperation) parent = parent.Parent;
        ILocalSymbol? local = parent switch
        {
            IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } => declarator.Symbol,
            ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } => target.Local,
            _ => null,
        };
        return local is not null && IsSortedInBody(copy, local);
    }

    private static bool IsSortedInBody(IOperation operation, ILocalSymbol local)
    {
        var body = operation;
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
        return key.SpecialType is SpecialType.System_String or SpecialType.System_Object || HashCodeRules.HasIdentityHash(key)
            || HashCodeRules.GeneratedHashAdvice(key) is not null;
    }

    private static bool IsIntegral(ITypeSymbol? type) =>
        type?.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Decimal
            or SpecialType.System_UInt32 or SpecialType.System_UInt64;

    private static Finding Found(IOperation collection, IOperation at) =>
        Finding.Ordered(Descriptors.HashOrderEnumeration, at, collection.Unwrap().Syntax.ToString());
}
