using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

/// <summary>
/// DER0007/DER0013 beyond assignments to the replica's own fields: what those fields hold changed in place
/// (<c>_items.Add(x)</c>, <c>_map[k] = v</c>, <c>_slots[0] = 1</c>, <c>Array.Sort(_slots)</c>, <c>ref _n</c>), and
/// the same done by a helper of any type to a parameter the replica's state (or the replica itself) was passed as.
/// A body records what it does to its parameters; <see cref="HandlerReport"/> counts it where a handler's own
/// state was passed there.
/// </summary>
internal static class StateMutationRules
{
    // Static methods of System.Array that change the array given first.
    private static readonly HashSet<string> ArrayMutators = new() { "Sort", "Clear", "Fill", "Reverse" };

    /// <summary>Where a changed object comes from: the replica (through a member), or a parameter of the body.</summary>
    private readonly record struct Root(bool OwnState, IParameterSymbol? Parameter);

    public static void Invocation(CallGraph graph, MethodFacts facts, IInvocationOperation operation)
    {
        var method = operation.TargetMethod;
        if (!method.IsStatic && StaticMutationRules.IsMutating(method) && RootOf(operation.Instance, facts) is { } root)
            Record(facts, root, operation);
        else if (method.IsStatic && ArrayMutators.Contains(method.Name) && method.ContainingType.SpecialType == SpecialType.System_Array
                 && operation.Arguments.Length > 0 && RootOf(operation.Arguments[0].Value, facts) is { } array)
            Record(facts, array, operation);
        else
            foreach (var argument in operation.Arguments)
                if (argument.Parameter?.RefKind is RefKind.Ref or RefKind.Out && RootOf(argument.Value, facts) is { } written)
                {
                    Record(facts, written, operation);
                    break;
                }
        Passed(facts, graph.Normalize(method), operation.Arguments);
    }

    public static void ObjectCreation(CallGraph graph, MethodFacts facts, IObjectCreationOperation operation) =>
        Passed(facts, graph.Normalize(operation.Constructor), operation.Arguments);

    /// <summary>An assignment to a member or element of what the replica's fields (or a parameter) hold.</summary>
    public static void Write(MethodFacts facts, IOperation target, IOperation operation)
    {
        target = target.Unwrap();
        // A field or auto-property of the replica itself: DeterminismRules.Write reports it.
        if (target is IFieldReferenceOperation field && IsThis(field.Instance) || target is IPropertyReferenceOperation { Arguments.Length: 0 } property && IsThis(property.Instance))
            return;
        if (target is IParameterReferenceOperation { Parameter: { RefKind: RefKind.Ref or RefKind.Out } parameter } && Owns(facts, parameter))
        {
            Record(facts, new Root(false, parameter), operation);
            return;
        }
        var instance = target switch
        {
            IFieldReferenceOperation { Field.IsStatic: false } member => member.Instance,
            IPropertyReferenceOperation { Property.IsStatic: false } member => member.Instance,
            IArrayElementReferenceOperation element => element.ArrayReference,
            IInlineArrayAccessOperation inline => inline.Instance,
            _ => null,
        };
        if (RootOf(instance, facts) is { } root) Record(facts, root, operation);
    }

    /// <summary>The replica's state, or a parameter, passed to a method of the compilation.</summary>
    private static void Passed(MethodFacts facts, IMethodSymbol? callee, IEnumerable<IArgumentOperation> arguments)
    {
        if (callee is null) return;
        foreach (var argument in arguments)
        {
            if (argument.Parameter is not { } parameter) continue;
            var value = argument.Value.Unwrap();
            var byRef = parameter.RefKind is RefKind.Ref or RefKind.Out;
            if (!byRef && value.Type?.IsReferenceType != true) continue; // a copy: nothing the callee does reaches back
            if (IsThis(value)) facts.StatePassed.Add((callee, parameter.Ordinal, facts.Owner.ContainingType));
            else if (RootOf(value, facts) is { } root)
            {
                if (root.OwnState) facts.StatePassed.Add((callee, parameter.Ordinal, facts.Owner.ContainingType));
                else facts.ParameterForwards.Add((root.Parameter!.Ordinal, callee, parameter.Ordinal, value is IParameterReferenceOperation));
            }
        }
    }

    /// <summary>
    /// Where <paramref name="operation"/> is rooted: the replica through at least one of its members, or a
    /// parameter of the body (itself, or through members) whose object a change reaches back to the caller; a local
    /// given one value only is followed to it.
    /// </summary>
    private static Root? RootOf(IOperation? operation, MethodFacts facts)
    {
        var throughMember = false;
        var hops = 0;
        while (operation is not null)
        {
            if (operation.Unwrap() is ILocalReferenceOperation { Local: var local } && hops++ < 8
                && facts.LocalValues.TryGetValue(local, out var value) && value is not null && value.Type?.IsReferenceType == true)
            {
                operation = value; // a local that holds what the replica (or a parameter) holds is that object
                continue;
            }
            switch (operation.Unwrap())
            {
                case IInstanceReferenceOperation when IsThis(operation.Unwrap()):
                    return throughMember ? new Root(true, null) : null;
                case IParameterReferenceOperation { Parameter: var parameter } when Owns(facts, parameter):
                    return parameter.RefKind is RefKind.Ref or RefKind.Out || parameter.Type.IsReferenceType ? new Root(false, parameter) : null;
                case IFieldReferenceOperation { Field.IsStatic: false } field: operation = field.Instance; break;
                case IPropertyReferenceOperation { Property.IsStatic: false } property: operation = property.Instance; break;
                case IArrayElementReferenceOperation element: operation = element.ArrayReference; break;
                case IInlineArrayAccessOperation inline: operation = inline.Instance; break;
                default: return null;
            }
            throughMember = true;
        }
        return null;
    }

    private static bool IsThis(IOperation? operation) =>
        operation?.Unwrap() is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance };

    // Lambdas and local functions have parameters of their own; only the body's count.
    private static bool Owns(MethodFacts facts, IParameterSymbol parameter) =>
        SymbolEqualityComparer.Default.Equals(parameter.ContainingSymbol.OriginalDefinition, facts.Owner);

    private static void Record(MethodFacts facts, Root root, IOperation operation)
    {
        var concurrent = IsConcurrent(operation);
        var finding = new Finding(Descriptors.P2PMutation, operation.Syntax.GetLocation(), operation.Syntax.ToString(), null, null,
            ForP2P: true, OwnTypeOnly: true, Concurrent: concurrent);
        if (root.OwnState) facts.Findings.Add(finding);
        else facts.ParameterWrites.Add((root.Parameter!.Ordinal, finding));
    }

    // A trigger's own concurrent collections are meant to change on one member (docs/triggers.md).
    private static bool IsConcurrent(IOperation operation)
    {
        var changed = operation switch
        {
            IInvocationOperation invocation => invocation.TargetMethod.ContainingType,
            IAssignmentOperation { Target: IPropertyReferenceOperation property } => property.Property.ContainingType,
            IIncrementOrDecrementOperation { Target: IPropertyReferenceOperation property } => property.Property.ContainingType,
            _ => null,
        };
        return changed?.ContainingNamespace?.ToDisplayString() == "System.Collections.Concurrent";
    }

    /// <summary>
    /// What a body does, through the parameter at <paramref name="ordinal"/> and what it passes that on to, to
    /// the object given there; each with the calls from <paramref name="method"/> (included) that lead to it.
    /// </summary>
    public static IEnumerable<(Finding Finding, IReadOnlyList<IMethodSymbol> Path)> WritesThrough(
        CallGraph graph, IMethodSymbol method, int ordinal, System.Threading.CancellationToken cancellationToken) =>
        Through(graph, method, ordinal, enumerations: false, cancellationToken);

    /// <summary>As <see cref="WritesThrough"/>, for what a body enumerates of the sequence given as the parameter (DER0006).</summary>
    public static IEnumerable<(Finding Finding, IReadOnlyList<IMethodSymbol> Path)> EnumerationsThrough(
        CallGraph graph, IMethodSymbol method, int ordinal, System.Threading.CancellationToken cancellationToken) =>
        Through(graph, method, ordinal, enumerations: true, cancellationToken);

    private static IEnumerable<(Finding Finding, IReadOnlyList<IMethodSymbol> Path)> Through(
        CallGraph graph, IMethodSymbol method, int ordinal, bool enumerations, System.Threading.CancellationToken cancellationToken)
    {
        var seen = new HashSet<(IMethodSymbol, int)>(new PairComparer());
        var queue = new Queue<(IMethodSymbol Method, int Ordinal, List<IMethodSymbol> Path)>();
        queue.Enqueue((method, ordinal, new List<IMethodSymbol> { method }));
        while (queue.Count > 0)
        {
            var (current, at, path) = queue.Dequeue();
            if (!seen.Add((current, at))) continue;
            foreach (var implementation in graph.ImplementationsOf(current, cancellationToken))
                queue.Enqueue((implementation, at, path.Concat(new[] { implementation }).ToList()));
            var facts = graph.FactsOf(current, cancellationToken);
            foreach (var (written, finding) in enumerations ? facts.ParameterEnumerations : facts.ParameterWrites)
                if (written == at) yield return (finding, path);
            foreach (var (from, callee, to, whole) in facts.ParameterForwards)
                if (from == at && (whole || !enumerations)) queue.Enqueue((callee, to, path.Concat(new[] { callee }).ToList()));
        }
    }

    private sealed class PairComparer : IEqualityComparer<(IMethodSymbol Method, int Ordinal)>
    {
        public bool Equals((IMethodSymbol Method, int Ordinal) x, (IMethodSymbol Method, int Ordinal) y) =>
            x.Ordinal == y.Ordinal && SymbolEqualityComparer.Default.Equals(x.Method, y.Method);

        public int GetHashCode((IMethodSymbol Method, int Ordinal) pair) => SymbolEqualityComparer.Default.GetHashCode(pair.Method) * 31 + pair.Ordinal;
    }
}
