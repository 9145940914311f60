using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Derecho.CodeAnalysis;
using Derecho.Generators.Diagnostics;
using Derecho.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Derecho.Generators.Parser;

/// <summary>Turns a [Replicated] type symbol into a <see cref="ReplicatedTypeDescription"/> or diagnostics.</summary>
internal static class ReplicatedTypeParser
{
    public const string ReplicatedAttribute = "Derecho.Rpc.ReplicatedAttribute";
    private const string OrderedAttribute = "Derecho.Rpc.OrderedAttribute";
    private const string P2PAttribute = "Derecho.Rpc.P2PCallableAttribute";
    private const string TriggerAttribute = "Derecho.Rpc.TriggerAttribute";

    private static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.FullyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    public static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var type = (INamedTypeSymbol)context.TargetSymbol;
        var diagnostics = new List<DiagnosticInfo>();
        var location = type.Locations.FirstOrDefault();

        if (type.TypeKind != TypeKind.Class)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotAClass, location, type.Name));
        if (type.IsGenericType)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.GenericType, location, type.Name));
        if (!IsPartialAllTheWayUp(type, cancellationToken))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotPartial, location, type.Name));

        var methods = new List<MethodDescription>();
        foreach (var method in type.GetMembers().OfType<IMethodSymbol>())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var described = ParseMethod(method, diagnostics);
            if (described is not null) methods.Add(described);
        }
        ReportDuplicateIds(methods, type, diagnostics);

        if (diagnostics.Count > 0) return new ParseResult(null, diagnostics.ToEquatableArray());

        var containing = new List<ContainingTypeDescription>();
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            containing.Insert(0, new ContainingTypeDescription(Keyword(outer), outer.Name));
        var fullName = type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        var metadataName = type.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat);
        var ns = type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString();
        var proxyName = string.Concat(containing.Select(c => c.Name + "_")) + type.Name + "Proxy";

        return new ParseResult(new ReplicatedTypeDescription(
            ns, type.Name, Keyword(type), fullName, metadataName.Replace('<', '[').Replace('>', ']') + ".Derecho.g.cs", proxyName,
            IsPublicAllTheWayUp(type), StateTransferOf(type), StableHash.Fnv1a32(metadataName),
            containing.ToEquatableArray(), methods.ToEquatableArray()), default);
    }

    private static MethodDescription? ParseMethod(IMethodSymbol method, List<DiagnosticInfo> diagnostics)
    {
        var attributes = method.GetAttributes().Select(a => a.AttributeClass?.ToDisplayString()).ToList();
        var ordered = attributes.Contains(OrderedAttribute);
        var p2p = attributes.Contains(P2PAttribute);
        var trigger = attributes.Contains(TriggerAttribute);
        if (!ordered && !p2p && !trigger) return null;

        var location = method.Locations.FirstOrDefault();
        var before = diagnostics.Count;
        if ((ordered ? 1 : 0) + (p2p ? 1 : 0) + (trigger ? 1 : 0) > 1) diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.BothKinds, location, method.Name));
        if (method.IsStatic || method.DeclaredAccessibility is not (Accessibility.Public or Accessibility.Internal))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.StaticOrInaccessible, location, method.Name));
        if (method.IsGenericMethod) diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.GenericMethod, location, method.Name));
        // A trigger handler runs off the protocol thread and may be asynchronous; it has no result for its caller.
        if (trigger && !ordered && !p2p)
        {
            if (!method.ReturnsVoid && !IsUntypedTask(method.ReturnType))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.TriggerReturnsValue, location, method.Name, method.ReturnType.ToDisplayString()));
        }
        else if (IsTaskLike(method.ReturnType))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.AsyncHandler, location, method.Name, method.ReturnType.ToDisplayString()));
        foreach (var parameter in method.Parameters)
        {
            if (parameter.RefKind != RefKind.None)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ByRefParameter, parameter.Locations.FirstOrDefault() ?? location,
                    parameter.Name, method.Name, parameter.RefKind.ToString().ToLowerInvariant()));
        }
        if (diagnostics.Count > before) return null;

        var parameters = method.Parameters
            .Select(p => new ParameterDescription(p.Name, p.Type.ToDisplayString(TypeFormat), DefaultValueText(p)))
            .ToEquatableArray();
        var signature = method.Name + "(" + string.Join(",", method.Parameters.Select(p => p.Type.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat))) + ")";
        var returnType = method.ReturnsVoid ? null : method.ReturnType.ToDisplayString(TypeFormat);
        return new MethodDescription(method.Name, ordered ? CallKind.Ordered : p2p ? CallKind.P2P : CallKind.Trigger, StableHash.Fnv1a32(signature),
            signature, returnType, parameters, DocumentationLines(method));
    }

    private static void ReportDuplicateIds(List<MethodDescription> methods, INamedTypeSymbol type, List<DiagnosticInfo> diagnostics)
    {
        foreach (var group in methods.GroupBy(m => m.Id).Where(g => g.Count() > 1))
        {
            var clash = group.ToList();
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateMethodId, type.Locations.FirstOrDefault(),
                clash[0].Signature, clash[1].Signature, group.Key.ToString("X8")));
        }
    }

    private static StateTransfer StateTransferOf(INamedTypeSymbol type)
    {
        if (ReplicaStateRule.ImplementsReplicaState(type)) return StateTransfer.Custom;
        if (ReplicaStateRule.IsMemoryPackable(type)) return StateTransfer.MemoryPack;
        return ReplicaStateRule.UntransferredFields(type).Any() ? StateTransfer.None : StateTransfer.VersionedFieldsOnly;
    }

    private static bool IsTaskLike(ITypeSymbol type)
    {
        var name = type.OriginalDefinition.ToDisplayString();
        return name is "System.Threading.Tasks.Task" or "System.Threading.Tasks.Task<TResult>"
            or "System.Threading.Tasks.ValueTask" or "System.Threading.Tasks.ValueTask<TResult>";
    }

    private static bool IsUntypedTask(ITypeSymbol type) =>
        type.OriginalDefinition.ToDisplayString() is "System.Threading.Tasks.Task" or "System.Threading.Tasks.ValueTask";

    private static bool IsPartialAllTheWayUp(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        for (var current = type; current is not null; current = current.ContainingType)
        {
            var partial = current.DeclaringSyntaxReferences
                .Select(r => r.GetSyntax(cancellationToken)).OfType<TypeDeclarationSyntax>()
                .Any(d => d.Modifiers.Any(m => m.ValueText == "partial"));
            if (!partial) return false;
        }
        return true;
    }

    private static bool IsPublicAllTheWayUp(INamedTypeSymbol type)
    {
        for (var current = type; current is not null; current = current.ContainingType)
            if (current.DeclaredAccessibility != Accessibility.Public) return false;
        return true;
    }

    private static string Keyword(INamedTypeSymbol type) => type switch
    {
        { IsRecord: true, TypeKind: TypeKind.Struct } => "record struct",
        { IsRecord: true } => "record",
        { TypeKind: TypeKind.Struct } => "struct",
        { TypeKind: TypeKind.Interface } => "interface",
        _ => "class",
    };

    private static string? DefaultValueText(IParameterSymbol parameter)
    {
        if (!parameter.HasExplicitDefaultValue) return null;
        var value = parameter.ExplicitDefaultValue;
        if (value is null) return "default";
        if (parameter.Type.TypeKind == TypeKind.Enum)
            return "(" + parameter.Type.ToDisplayString(TypeFormat) + ")" + SymbolDisplay.FormatPrimitive(value, quoteStrings: true, useHexadecimalNumbers: false);
        var text = SymbolDisplay.FormatPrimitive(value, quoteStrings: true, useHexadecimalNumbers: false);
        return value switch
        {
            float => text + "F",
            double d when !text.Contains(".") && !text.Contains("E") => text + "D",
            decimal => text + "M",
            long => text + "L",
            ulong => text + "UL",
            uint => text + "U",
            _ => text,
        };
    }

    /// <summary>The method's /// comment lines, read from syntax so they come through whatever the documentation mode.</summary>
    private static EquatableArray<string> DocumentationLines(IMethodSymbol method)
    {
        var syntax = method.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax();
        if (syntax is null) return default;
        var lines = syntax.GetLeadingTrivia()
            .Where(t => t.IsKind(SyntaxKind.SingleLineDocumentationCommentTrivia) || t.IsKind(SyntaxKind.SingleLineCommentTrivia))
            .SelectMany(t => t.ToFullString().Replace("\r", "").Split('\n'))
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("///"))
            .Select(l => l.Substring(3).Trim());
        return lines.ToEquatableArray();
    }
}
