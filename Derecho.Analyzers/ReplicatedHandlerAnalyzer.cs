using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Derecho.Analyzers;

/// <summary>
/// Finds what would make replicas diverge (DER0001–DER0006, DER0010, DER0011) or stall a shard (DER0012)
/// in [Ordered] handlers, and mutations in [P2PCallable] (DER0007) and [Trigger] (DER0013) handlers, in the handler and in every
/// method of the compilation it reaches. Per [Replicated] type it walks the calls from each handler,
/// analyzing each body reached once per compilation (<see cref="CallGraph"/>), and reports what it finds.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ReplicatedHandlerAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        Descriptors.WallClock, Descriptors.Randomness, Descriptors.Concurrency, Descriptors.IoOrEnvironment,
        Descriptors.StaticWrite, Descriptors.HashOrderEnumeration, Descriptors.P2PMutation, Descriptors.ProcessHash,
        Descriptors.MachineFact, Descriptors.Blocking, Descriptors.TriggerMutation);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            var known = KnownSymbols.Create(start.Compilation);
            if (known is null) return;
            var graph = new CallGraph(start.Compilation, known);
            start.RegisterSymbolAction(symbol =>
            {
                if (KnownSymbols.Has(symbol.Symbol, known.Replicated))
                    HandlerReport.Report(graph, known, (INamedTypeSymbol)symbol.Symbol, symbol.ReportDiagnostic, symbol.CancellationToken);
            }, SymbolKind.NamedType);
        });
    }
}
