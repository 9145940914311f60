using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace Derecho.Analyzers;

/// <summary>Reports the findings reachable from each handler, once per place, with the path that reaches it.</summary>
internal static class HandlerReport
{
    public static void Report(CallGraph graph, KnownSymbols known, INamedTypeSymbol type, System.Action<Diagnostic> report, CancellationToken cancellationToken)
    {
        var reported = new HashSet<(string, Location)>();
        var methods = type.GetMembers().OfType<IMethodSymbol>().ToList();
        foreach (var handler in methods.Where(m => KnownSymbols.Has(m, known.Ordered)))
        {
            if (handler.IsAsync)
                report(Diagnostic.Create(Descriptors.Concurrency, handler.Locations.FirstOrDefault(), "async", handler.Name, ""));
            foreach (var (method, path) in graph.Reachable(handler, cancellationToken))
            {
                var facts = graph.FactsOf(method, cancellationToken);
                foreach (var finding in facts.Findings.Where(f => !f.ForP2P))
                    if (reported.Add((finding.Descriptor.Id, finding.Location))) report(Create(finding, handler, path));
                foreach (var (callee, ordinal) in facts.HashPassed)
                    foreach (var (finding, through) in StateMutationRules.EnumerationsThrough(graph, callee, ordinal, cancellationToken))
                        if (reported.Add((finding.Descriptor.Id, finding.Location))) report(Create(finding, handler, path.Concat(through).ToList()));
            }
        }
        foreach (var handler in methods.Where(m => KnownSymbols.Has(m, known.P2PCallable)))
            OneMember(graph, type, handler, Descriptors.P2PMutation, reported, report, cancellationToken);
        // A trigger runs on one member, like a P2P call, but beside the ordered handlers: the same writes diverge,
        // except in the concurrent collections a trigger keeps for itself.
        foreach (var handler in methods.Where(m => KnownSymbols.Has(m, known.Trigger)))
            OneMember(graph, type, handler, Descriptors.TriggerMutation, reported, report, cancellationToken);
    }

    /// <summary>
    /// DER0007/DER0013: the replica's state changed by a handler that runs on one member: in the type's own
    /// methods, and in any method its state is passed to (through the parameters it is passed on as).
    /// </summary>
    private static void OneMember(CallGraph graph, INamedTypeSymbol type, IMethodSymbol handler, DiagnosticDescriptor descriptor,
        HashSet<(string, Location)> reported, System.Action<Diagnostic> report, CancellationToken cancellationToken)
    {
        var trigger = descriptor == Descriptors.TriggerMutation;
        bool Counts(Finding f) => !(trigger && f.Concurrent);
        void Add(Finding finding, IReadOnlyList<IMethodSymbol> path)
        {
            if (Counts(finding) && reported.Add((descriptor.Id, finding.Location))) report(Create(finding with { Descriptor = descriptor }, handler, path));
        }
        foreach (var (method, path) in graph.Reachable(handler, cancellationToken))
        {
            var facts = graph.FactsOf(method, cancellationToken);
            foreach (var finding in facts.Findings.Where(f => f.ForP2P && (!f.OwnTypeOnly || IsOf(method, type))))
                Add(finding, path);
            if (!IsOf(method, type)) continue;
            foreach (var (callee, ordinal, _) in facts.StatePassed)
                foreach (var (finding, through) in StateMutationRules.WritesThrough(graph, callee, ordinal, cancellationToken))
                    Add(finding, path.Concat(through).ToList());
        }
    }

    private static bool IsOf(IMethodSymbol method, INamedTypeSymbol type) =>
        SymbolEqualityComparer.Default.Equals(method.ContainingType?.OriginalDefinition, type.OriginalDefinition);

    private static Diagnostic Create(Finding finding, IMethodSymbol handler, IReadOnlyList<IMethodSymbol> path)
    {
        var properties = finding.Replacement is null
            ? ImmutableDictionary<string, string?>.Empty
            : ImmutableDictionary<string, string?>.Empty.Add(DeterminismRules.ReplacementKey, finding.Replacement);
        var through = path.Count == 0 ? "" : " (reached through " + string.Join(" → ", path.Select(m => "`" + NameOf(m) + "`")) + ")";
        object[] arguments = finding.Descriptor.Id switch
        {
            "DER0001" or "DER0002" or "DER0010" => [finding.What, handler.Name, finding.Detail ?? "", through],
            "DER0005" => [finding.What, finding.Detail ?? "", handler.Name, through],
            _ => [finding.What, handler.Name, through],
        };
        return Diagnostic.Create(finding.Descriptor, finding.Location, properties, arguments);
    }

    private static string NameOf(IMethodSymbol method) => method.MethodKind switch
    {
        MethodKind.PropertyGet or MethodKind.PropertySet => method.ContainingType.Name + "." + (method.AssociatedSymbol is IPropertySymbol { ExplicitInterfaceImplementations.Length: > 0 } explicitly ? explicitly.ExplicitInterfaceImplementations[0].Name : method.AssociatedSymbol?.Name),
        MethodKind.Constructor => "new " + method.ContainingType.Name,
        MethodKind.ExplicitInterfaceImplementation when method.ExplicitInterfaceImplementations.FirstOrDefault() is { } implemented => method.ContainingType.Name + "." + implemented.Name,
        _ => method.ContainingType.Name + "." + method.Name,
    };
}
