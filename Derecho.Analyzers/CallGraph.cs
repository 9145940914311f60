using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

/// <summary>
/// A method as a call reaches it: <paramref name="Dispatched"/> when the call is virtual (through an interface,
/// or to an abstract, virtual or override member), so it may run any implementation or override instead.
/// </summary>
internal readonly record struct Callee(IMethodSymbol Method, bool Dispatched);

/// <summary>What one method body does: its findings and the methods of this compilation it calls.</summary>
internal sealed class MethodFacts(IMethodSymbol owner)
{
    /// <summary>The method whose body this is.</summary>
    public IMethodSymbol Owner => owner;

    public List<Finding> Findings { get; } = new();
    public HashSet<Callee> Callees { get; } = new(CalleeComparer.Instance);

    /// <summary>Replicated state passed to a method of the compilation: the parameter and the replicated type it belongs to.</summary>
    public List<(IMethodSymbol Callee, int Ordinal, INamedTypeSymbol Of)> StatePassed { get; } = new();

    /// <summary>Mutations of a parameter's object in this body (<c>items.Add(x)</c>, <c>map[k] = v</c>), by parameter ordinal.</summary>
    public List<(int Ordinal, Finding Finding)> ParameterWrites { get; } = new();

    /// <summary>
    /// A parameter passed on as a parameter of another method of the compilation: <c>Whole</c> when the parameter
    /// itself is passed, not something reached through it (<c>p.Items</c>).
    /// </summary>
    public List<(int Ordinal, IMethodSymbol Callee, int CalleeOrdinal, bool Whole)> ParameterForwards { get; } = new();

    /// <summary>A hash collection passed as a sequence parameter of a method of the compilation.</summary>
    public List<(IMethodSymbol Callee, int Ordinal)> HashPassed { get; } = new();

    /// <summary>Enumerations of a sequence parameter in this body whose order matters, by parameter ordinal (DER0006 when a hash collection is passed).</summary>
    public List<(int Ordinal, Finding Finding)> ParameterEnumerations { get; } = new();

    /// <summary>
    /// The one value each local of the body is given (its initializer or its only assignment); null for a local given
    /// several, or passed by reference: <c>var names = _names; names.Add(x)</c> changes the replica's list.
    /// </summary>
    public Dictionary<ILocalSymbol, IOperation?> LocalValues { get; } = new(SymbolEqualityComparer.Default);

    public void NoteLocalValues(IOperation body)
    {
        foreach (var operation in body.DescendantsAndSelf())
        {
            switch (operation)
            {
                case IVariableDeclaratorOperation declarator when declarator.GetVariableInitializer() is { } initializer:
                    Note(declarator.Symbol, initializer.Value);
                    break;
                case ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } assignment:
                    Note(target.Local, assignment.Value);
                    break;
                case IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out, Value: ILocalReferenceOperation byRef }:
                    LocalValues[byRef.Local] = null;
                    break;
            }
        }
    }

    private void Note(ILocalSymbol local, IOperation value) => LocalValues[local] = LocalValues.ContainsKey(local) ? null : value;
}

internal sealed class CalleeComparer : IEqualityComparer<Callee>
{
    public static readonly CalleeComparer Instance = new();
    public bool Equals(Callee x, Callee y) => x.Dispatched == y.Dispatched && SymbolEqualityComparer.Default.Equals(x.Method, y.Method);
    public int GetHashCode(Callee callee) => SymbolEqualityComparer.Default.GetHashCode(callee.Method) * 2 + (callee.Dispatched ? 1 : 0);
}

/// <summary>
/// The method bodies of the compilation that handlers reach, each analyzed once, on first reach, and shared
/// by every replicated type: a handler's reach is followed into helpers, extension methods, accessors and
/// constructors of any type. Lambdas and local functions belong to the body they are written in. A virtual
/// call (an interface member, an abstract, virtual or override member) is followed into every implementation
/// and override the compilation declares, whichever the receiver turns out to be.
/// </summary>
internal sealed class CallGraph(Compilation compilation, KnownSymbols known)
{
    private readonly ConcurrentDictionary<IMethodSymbol, Lazy<MethodFacts>> _methods = new(SymbolEqualityComparer.Default);
    private readonly ConcurrentDictionary<IMethodSymbol, List<IMethodSymbol>> _implementations = new(SymbolEqualityComparer.Default);
    private readonly Lazy<List<INamedTypeSymbol>> _types = new(() => TypesOf(compilation.Assembly.GlobalNamespace).ToList());

    public KnownSymbols Known => known;

    /// <summary>Records a call. Calls out of the compilation are not followed: only its own code is seen.</summary>
    public void AddCall(MethodFacts caller, IMethodSymbol? callee, bool dispatched = false)
    {
        if (Normalize(callee) is not { } method) return;
        caller.Callees.Add(new Callee(method, dispatched && IsDispatched(method)));
    }

    /// <summary>The definition a call binds to, when the compilation declares it.</summary>
    public IMethodSymbol? Normalize(IMethodSymbol? callee)
    {
        if (callee is null) return null;
        callee = (callee.ReducedFrom ?? callee).OriginalDefinition;
        return SymbolEqualityComparer.Default.Equals(callee.ContainingAssembly, compilation.Assembly) ? callee : null;
    }

    private static bool IsDispatched(IMethodSymbol method) =>
        !method.IsStatic && !method.IsSealed && method.ContainingType is { } type
        && (type.TypeKind == TypeKind.Interface ? method.IsAbstract || method.IsVirtual : !type.IsSealed && (method.IsAbstract || method.IsVirtual || method.IsOverride));

    private MethodFacts Of(IMethodSymbol method, CancellationToken cancellationToken) =>
        _methods.GetOrAdd(method, m => new Lazy<MethodFacts>(() => Analyze(m, cancellationToken))).Value;

    // The compiler's driver hands out its cached semantic models, so this binds nothing twice.
#pragma warning disable RS1030 // the bodies of other types are not otherwise available to a type's analysis
    private MethodFacts Analyze(IMethodSymbol method, CancellationToken cancellationToken)
    {
        var facts = new MethodFacts(method);
        foreach (var reference in method.DeclaringSyntaxReferences)
        {
            var node = reference.GetSyntax(cancellationToken);
            if (IsGenerated(node.SyntaxTree)) continue;
            var body = compilation.GetSemanticModel(node.SyntaxTree).GetOperation(node, cancellationToken);
            if (body is null) continue;
            facts.NoteLocalValues(body);
            foreach (var operation in body.DescendantsAndSelf()) OperationRules.Visit(this, facts, operation);
        }
        return facts;
    }
#pragma warning restore RS1030

    private static bool IsGenerated(SyntaxTree tree) =>
        tree.FilePath.EndsWith(".g.cs", StringComparison.OrdinalIgnoreCase) || tree.FilePath.EndsWith(".generated.cs", StringComparison.OrdinalIgnoreCase);

    public IReadOnlyList<Finding> FindingsOf(IMethodSymbol method, CancellationToken cancellationToken) => Of(method, cancellationToken).Findings;

    public MethodFacts FactsOf(IMethodSymbol method, CancellationToken cancellationToken) => Of(method, cancellationToken);

    /// <summary>
    /// Every method reachable from <paramref name="root"/> (breadth first, callees in source order so the
    /// reported path is the same in every build), with the calls that lead to it, root excluded. A method
    /// reached both directly and by a virtual call comes twice, once each way (their findings are the same).
    /// </summary>
    public IEnumerable<(IMethodSymbol Method, IReadOnlyList<IMethodSymbol> Path)> Reachable(IMethodSymbol root, CancellationToken cancellationToken)
    {
        var start = new Callee(root.OriginalDefinition, false);
        var cameFrom = new Dictionary<Callee, Callee?>(CalleeComparer.Instance) { [start] = null };
        var queue = new Queue<Callee>();
        queue.Enqueue(start);
        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            yield return (node.Method, PathTo(node, cameFrom));
            foreach (var callee in CalleesOf(node, cancellationToken))
                if (!cameFrom.ContainsKey(callee))
                {
                    cameFrom[callee] = node;
                    queue.Enqueue(callee);
                }
        }
    }

    private List<Callee> CalleesOf(Callee node, CancellationToken cancellationToken)
    {
        var callees = InSourceOrder(Of(node.Method, cancellationToken).Callees);
        if (node.Dispatched)
            callees.AddRange(InSourceOrder(ImplementationsOf(node.Method, cancellationToken).Select(m => new Callee(m, false))));
        return callees;
    }

    private static List<Callee> InSourceOrder(IEnumerable<Callee> callees) =>
        callees.OrderBy(c => c.Method.Locations.FirstOrDefault()?.SourceTree?.FilePath, StringComparer.Ordinal)
            .ThenBy(c => c.Method.Locations.FirstOrDefault()?.SourceSpan.Start ?? 0).ThenBy(c => c.Dispatched).ToList();

    /// <summary>
    /// The implementations (of an interface member) or overrides (of a class member) the compilation declares,
    /// at any depth, the member itself excluded.
    /// </summary>
    public IReadOnlyList<IMethodSymbol> ImplementationsOf(IMethodSymbol method, CancellationToken cancellationToken) =>
        _implementations.GetOrAdd(method, m => FindImplementations(m, cancellationToken));

    private List<IMethodSymbol> FindImplementations(IMethodSymbol method, CancellationToken cancellationToken)
    {
        var found = new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default);
        var declaring = method.ContainingType.OriginalDefinition;
        foreach (var type in _types.Value)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (declaring.TypeKind == TypeKind.Interface)
            {
                foreach (var face in type.AllInterfaces)
                {
                    if (!SymbolEqualityComparer.Default.Equals(face.OriginalDefinition, declaring)) continue;
                    foreach (var member in face.GetMembers(method.Name).OfType<IMethodSymbol>())
                        if (SymbolEqualityComparer.Default.Equals(member.OriginalDefinition, method)
                            && type.FindImplementationForInterfaceMember(member) is IMethodSymbol implementation)
                            found.Add(implementation.OriginalDefinition);
                }
            }
            else if (DerivesFrom(type, declaring))
            {
                foreach (var member in type.GetMembers().OfType<IMethodSymbol>())
                    for (var overridden = member.IsOverride ? member.OverriddenMethod : null; overridden is not null; overridden = overridden.OverriddenMethod)
                        if (SymbolEqualityComparer.Default.Equals(overridden.OriginalDefinition, method))
                        {
                            found.Add(member.OriginalDefinition);
                            break;
                        }
            }
        }
        found.Remove(method);
        return found.Where(m => Normalize(m) is not null).ToList();
    }

    private static bool DerivesFrom(INamedTypeSymbol type, INamedTypeSymbol ancestor)
    {
        for (var current = type.BaseType; current is not null; current = current.BaseType)
            if (SymbolEqualityComparer.Default.Equals(current.OriginalDefinition, ancestor)) return true;
        return false;
    }

    private static IEnumerable<INamedTypeSymbol> TypesOf(INamespaceOrTypeSymbol container)
    {
        foreach (var member in container.GetMembers())
        {
            if (member is INamespaceSymbol ns)
                foreach (var type in TypesOf(ns)) yield return type;
            else if (member is INamedTypeSymbol type)
            {
                yield return type;
                foreach (var nested in TypesOf(type)) yield return nested;
            }
        }
    }

    private static List<IMethodSymbol> PathTo(Callee node, Dictionary<Callee, Callee?> cameFrom)
    {
        var path = new List<IMethodSymbol>();
        for (var current = node; cameFrom[current] is { } caller; current = caller) path.Add(current.Method);
        path.Reverse();
        return path;
    }
}
