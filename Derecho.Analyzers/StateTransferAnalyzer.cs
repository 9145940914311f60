using System.Collections.Immutable;
using System.Linq;
using Derecho.CodeAnalysis;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Derecho.Analyzers;

/// <summary>
/// DER0009: a [Replicated] type with state outside its versioned fields and no state transfer cannot be
/// given to a joining member, so a group hosting it refuses every join. Said at compile time, on the type.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StateTransferAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.NoStateTransfer);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            var known = KnownSymbols.Create(start.Compilation);
            if (known is null) return;
            start.RegisterSymbolAction(c => Analyze((INamedTypeSymbol)c.Symbol, known, c), SymbolKind.NamedType);
        });
    }

    private static void Analyze(INamedTypeSymbol type, KnownSymbols known, SymbolAnalysisContext context)
    {
        if (type.TypeKind != TypeKind.Class || !KnownSymbols.Has(type, known.Replicated)) return;
        if (ReplicaStateRule.ImplementsReplicaState(type) || ReplicaStateRule.IsMemoryPackable(type)) return;
        var fields = ReplicaStateRule.UntransferredFields(type).Select(f => "'" + (f.AssociatedSymbol?.Name ?? f.Name) + "'").ToList();
        if (fields.Count == 0) return;
        context.ReportDiagnostic(Diagnostic.Create(Descriptors.NoStateTransfer, type.Locations.FirstOrDefault(), type.Name, string.Join(", ", fields)));
    }
}
