using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Derecho.Analyzers;

/// <summary>
/// DER0008: parameters and results of replicated methods travel through MemoryPack, so each type must be
/// one it can serialize. Types from System namespaces are trusted (MemoryPack knows most of them) except
/// those that can never be data; other types need [MemoryPackable] (or [MemoryPackUnion] when abstract).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class SerializableTypeAnalyzer : DiagnosticAnalyzer
{
    private static readonly HashSet<string> NeverData = new()
    {
        "System.Object", "System.IntPtr", "System.UIntPtr", "System.Delegate", "System.Threading.Tasks.Task",
        "System.Threading.Tasks.ValueTask", "System.Threading.CancellationToken", "System.IO.Stream", "System.Threading.Thread",
        "System.Span", "System.ReadOnlySpan", "System.Type",
    };

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.NotSerializable);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            var known = KnownSymbols.Create(start.Compilation);
            if (known is null) return;
            start.RegisterSymbolAction(c => Analyze((IMethodSymbol)c.Symbol, known, c.ReportDiagnostic), SymbolKind.Method);
        });
    }

    private static void Analyze(IMethodSymbol method, KnownSymbols known, System.Action<Diagnostic> report)
    {
        // A trigger's arguments travel like any call's; it has no result (its Task is the handler's own, not sent back).
        var trigger = KnownSymbols.Has(method, known.Trigger);
        if (!KnownSymbols.Has(method, known.Ordered) && !KnownSymbols.Has(method, known.P2PCallable) && !trigger) return;
        foreach (var parameter in method.Parameters)
        {
            var problem = Problem(parameter.Type, known, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default));
            if (problem is not null)
                report(Diagnostic.Create(Descriptors.NotSerializable, parameter.Locations.FirstOrDefault(), "Parameter", parameter.Type.ToDisplayString(), method.Name, problem));
        }
        if (!method.ReturnsVoid && !trigger)
        {
            var problem = Problem(method.ReturnType, known, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default));
            if (problem is not null)
                report(Diagnostic.Create(Descriptors.NotSerializable, method.Locations.FirstOrDefault(), "Return", method.ReturnType.ToDisplayString(), method.Name, problem));
        }
    }

    private static string? Problem(ITypeSymbol type, KnownSymbols known, HashSet<ITypeSymbol> visiting)
    {
        if (!visiting.Add(type)) return null;
        switch (type)
        {
            case IArrayTypeSymbol array:
                return Problem(array.ElementType, known, visiting);
            case IPointerTypeSymbol or IFunctionPointerTypeSymbol:
                return "pointers are not data";
            case IDynamicTypeSymbol:
                return "'dynamic' has no fixed shape";
            case ITypeParameterSymbol:
                return null;
            case INamedTypeSymbol named:
                var name = KnownSymbols.NameOf(named);
                if (named.SpecialType == SpecialType.System_Object) return "'object' has no fixed shape; use a concrete or [MemoryPackUnion] type";
                if (named.TypeKind == TypeKind.Delegate || NeverData.Contains(name)) return "it is not data";
                if (named.SpecialType != SpecialType.None || named.TypeKind == TypeKind.Enum) return null;
                if (KnownSymbols.Has(named, known.MemoryPackable)) return null;
                if (named.TypeKind == TypeKind.Interface || named.IsAbstract)
                    return KnownSymbols.Has(named, known.MemoryPackUnion) || IsSystem(named) ? null : "an interface or abstract class needs [MemoryPackUnion]";
                if (IsSystem(named))
                {
                    foreach (var argument in named.TypeArguments)
                        if (Problem(argument, known, visiting) is { } inner) return inner;
                    return null;
                }
                return "it is not marked [MemoryPackable]";
            default:
                return null;
        }
    }

    private static bool IsSystem(INamedTypeSymbol type)
    {
        var ns = type.ContainingNamespace?.ToDisplayString() ?? "";
        return ns == "System" || ns.StartsWith("System.", System.StringComparison.Ordinal);
    }
}
