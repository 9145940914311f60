using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

/// <summary>
/// Finds what would make replicas diverge (DER0001–DER0006) in [Ordered] handlers and in the methods of
/// the same type they call, and mutations (DER0007) in [P2PCallable] handlers and what they call.
/// Per [Replicated] type it records each method's findings and its calls to sibling methods, then
/// reports the findings of every method reachable from a handler: no semantic-model lookups needed.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ReplicatedHandlerAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        Descriptors.WallClock, Descriptors.Randomness, Descriptors.Concurrency, Descriptors.IoOrEnvironment,
        Descriptors.StaticWrite, Descriptors.HashOrderEnumeration, Descriptors.P2PMutation);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            var known = KnownSymbols.Create(start.Compilation);
            if (known is null) return;
            start.RegisterSymbolStartAction(symbolStart =>
            {
                var type = (INamedTypeSymbol)symbolStart.Symbol;
                if (!KnownSymbols.Has(type, known.Replicated)) return;
                var state = new TypeState(type, known);
                symbolStart.RegisterOperationBlockStartAction(block =>
                {
                    if (block.OwningSymbol is not IMethodSymbol method) return;
                    var findings = state.FindingsOf(method);
                    block.RegisterOperationAction(o => state.Visit(method, o.Operation, findings),
                        OperationKind.PropertyReference, OperationKind.Invocation, OperationKind.ObjectCreation, OperationKind.Await,
                        OperationKind.Lock, OperationKind.Loop, OperationKind.SimpleAssignment, OperationKind.CompoundAssignment,
                        OperationKind.Increment, OperationKind.Decrement, OperationKind.CoalesceAssignment);
                });
                symbolStart.RegisterSymbolEndAction(end => state.Report(end.ReportDiagnostic));
            }, SymbolKind.NamedType);
        });
    }

    private sealed class TypeState(INamedTypeSymbol type, KnownSymbols known)
    {
        private readonly ConcurrentDictionary<IMethodSymbol, List<Finding>> _findings = new(SymbolEqualityComparer.Default);
        private readonly ConcurrentDictionary<IMethodSymbol, ConcurrentBag<IMethodSymbol>> _calls = new(SymbolEqualityComparer.Default);

        public List<Finding> FindingsOf(IMethodSymbol method) => _findings.GetOrAdd(method.OriginalDefinition, _ => new List<Finding>());

        public void Visit(IMethodSymbol method, IOperation operation, List<Finding> findings)
        {
            lock (findings)
            {
                switch (operation)
                {
                    case IPropertyReferenceOperation property:
                        DeterminismRules.PropertyReference(property, findings);
                        AddCall(method, property.Property.GetMethod);
                        break;
                    case IInvocationOperation invocation:
                        DeterminismRules.Invocation(invocation, findings);
                        DeterminismRules.VersionedUpdate(invocation, findings);
                        AddCall(method, invocation.TargetMethod);
                        break;
                    case IObjectCreationOperation creation:
                        DeterminismRules.ObjectCreation(creation, findings);
                        break;
                    case IAwaitOperation await:
                        DeterminismRules.Await(await, findings);
                        break;
                    case ILockOperation @lock:
                        DeterminismRules.Lock(@lock, findings);
                        break;
                    case IForEachLoopOperation forEach:
                        DeterminismRules.ForEach(forEach, findings);
                        break;
                    case IAssignmentOperation assignment:
                        DeterminismRules.Write(assignment.Target, assignment, type, findings);
                        break;
                    case IIncrementOrDecrementOperation increment:
                        DeterminismRules.Write(increment.Target, increment, type, findings);
                        break;
                }
            }
        }

        public void Report(System.Action<Diagnostic> report)
        {
            var methods = type.GetMembers().OfType<IMethodSymbol>().ToList();
            var reported = new HashSet<(string, Location)>();
            foreach (var handler in methods.Where(m => KnownSymbols.Has(m, known.Ordered)))
            {
                if (handler.IsAsync)
                    report(Diagnostic.Create(Descriptors.Concurrency, handler.Locations.FirstOrDefault(), "async", handler.Name));
                foreach (var finding in Reachable(handler).SelectMany(Findings).Where(f => !f.ForP2P))
                    if (reported.Add((finding.Descriptor.Id, finding.Location))) report(Create(finding, handler));
            }
            foreach (var handler in methods.Where(m => KnownSymbols.Has(m, known.P2PCallable)))
                foreach (var finding in Reachable(handler).SelectMany(Findings).Where(f => f.ForP2P))
                    if (reported.Add((finding.Descriptor.Id, finding.Location))) report(Create(finding, handler));
        }

        private IEnumerable<Finding> Findings(IMethodSymbol method)
        {
            if (!_findings.TryGetValue(method, out var list)) return Enumerable.Empty<Finding>();
            lock (list) return list.ToList();
        }

        private void AddCall(IMethodSymbol caller, IMethodSymbol? callee)
        {
            if (callee is null || !SymbolEqualityComparer.Default.Equals(callee.ContainingType?.OriginalDefinition, type.OriginalDefinition)) return;
            _calls.GetOrAdd(caller.OriginalDefinition, _ => new ConcurrentBag<IMethodSymbol>()).Add(callee.OriginalDefinition);
        }

        private IEnumerable<IMethodSymbol> Reachable(IMethodSymbol root)
        {
            var seen = new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default) { root.OriginalDefinition };
            var queue = new Queue<IMethodSymbol>(seen);
            while (queue.Count > 0)
            {
                var method = queue.Dequeue();
                yield return method;
                if (!_calls.TryGetValue(method, out var callees)) continue;
                foreach (var callee in callees)
                    if (seen.Add(callee)) queue.Enqueue(callee);
            }
        }

        private static Diagnostic Create(Finding finding, IMethodSymbol handler)
        {
            var properties = finding.Replacement is null
                ? ImmutableDictionary<string, string?>.Empty
                : ImmutableDictionary<string, string?>.Empty.Add(DeterminismRules.ReplacementKey, finding.Replacement);
            object[] arguments = finding.Descriptor.Id switch
            {
                "DER0001" or "DER0002" => [finding.What, handler.Name, finding.Detail ?? ""],
                "DER0005" => [finding.What, finding.Detail ?? "", handler.Name],
                _ => [finding.What, handler.Name],
            };
            return Diagnostic.Create(finding.Descriptor, finding.Location, properties, arguments);
        }
    }
}
