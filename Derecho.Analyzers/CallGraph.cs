using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

/// <summary>What one method body does: its findings and the methods of this compilation it calls.</summary>
internal sealed class MethodFacts
{
    public List<Finding> Findings { get; } = new();
    public HashSet<IMethodSymbol> Callees { get; } = new(SymbolEqualityComparer.Default);
}

/// <summary>
/// The method bodies of the compilation that handlers reach, each analyzed once, on first reach, and shared
/// by every replicated type: a handler's reach is followed into helpers, extension methods, accessors and
/// constructors of any type. Lambdas and local functions belong to the body they are written in.
/// </summary>
internal sealed class CallGraph(Compilation compilation)
{
    private readonly ConcurrentDictionary<IMethodSymbol, Lazy<MethodFacts>> _methods = new(SymbolEqualityComparer.Default);

    /// <summary>Records a call. Calls out of the compilation are not followed: only its own code is seen.</summary>
    public void AddCall(MethodFacts caller, IMethodSymbol? callee)
    {
        if (callee is null) return;
        callee = (callee.ReducedFrom ?? callee).OriginalDefinition;
        if (SymbolEqualityComparer.Default.Equals(callee.ContainingAssembly, compilation.Assembly)) caller.Callees.Add(callee);
    }

    private MethodFacts Of(IMethodSymbol method, CancellationToken cancellationToken) =>
        _methods.GetOrAdd(method, m => new Lazy<MethodFacts>(() => Analyze(m, cancellationToken))).Value;

    // The compiler's driver hands out its cached semantic models, so this binds nothing twice.
#pragma warning disable RS1030 // the bodies of other types are not otherwise available to a type's analysis
    private MethodFacts Analyze(IMethodSymbol method, CancellationToken cancellationToken)
    {
        var facts = new MethodFacts();
        foreach (var reference in method.DeclaringSyntaxReferences)
        {
            var node = reference.GetSyntax(cancellationToken);
            if (IsGenerated(node.SyntaxTree)) continue;
            var body = compilation.GetSemanticModel(node.SyntaxTree).GetOperation(node, cancellationToken);
            if (body is null) continue;
            foreach (var operation in body.DescendantsAndSelf()) OperationRules.Visit(this, facts, operation);
        }
        return facts;
    }
#pragma warning restore RS1030

    private static bool IsGenerated(SyntaxTree tree) =>
        tree.FilePath.EndsWith(".g.cs", StringComparison.OrdinalIgnoreCase) || tree.FilePath.EndsWith(".generated.cs", StringComparison.OrdinalIgnoreCase);

    public IReadOnlyList<Finding> FindingsOf(IMethodSymbol method, CancellationToken cancellationToken) => Of(method, cancellationToken).Findings;

    /// <summary>
    /// Every method reachable from <paramref name="root"/> (breadth first, callees in source order so the
    /// reported path is the same in every build), with the calls that lead to it, root excluded.
    /// </summary>
    public IEnumerable<(IMethodSymbol Method, IReadOnlyList<IMethodSymbol> Path)> Reachable(IMethodSymbol root, CancellationToken cancellationToken)
    {
        root = root.OriginalDefinition;
        var cameFrom = new Dictionary<IMethodSymbol, IMethodSymbol?>(SymbolEqualityComparer.Default) { [root] = null };
        var queue = new Queue<IMethodSymbol>();
        queue.Enqueue(root);
        while (queue.Count > 0)
        {
            var method = queue.Dequeue();
            yield return (method, PathTo(method, cameFrom));
            foreach (var callee in CalleesOf(method, cancellationToken))
                if (!cameFrom.ContainsKey(callee))
                {
                    cameFrom[callee] = method;
                    queue.Enqueue(callee);
                }
        }
    }

    private List<IMethodSymbol> CalleesOf(IMethodSymbol method, CancellationToken cancellationToken) =>
        Of(method, cancellationToken).Callees.OrderBy(c => c.Locations.FirstOrDefault()?.SourceTree?.FilePath, StringComparer.Ordinal)
            .ThenBy(c => c.Locations.FirstOrDefault()?.SourceSpan.Start ?? 0).ToList();

    private static List<IMethodSymbol> PathTo(IMethodSymbol method, Dictionary<IMethodSymbol, IMethodSymbol?> cameFrom)
    {
        var path = new List<IMethodSymbol>();
        for (var current = method; cameFrom[current] is { } caller; current = caller) path.Add(current);
        path.Reverse();
        return path;
    }
}
