using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Derecho.CodeAnalysis;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Simplification;

namespace Derecho.Analyzers.CodeFixes;

/// <summary>
/// Fixes DER0009 by making the type an <c>IReplicaState</c> whose WriteState/ReadState send the fields the
/// runtime does not (as one MemoryPack value, a tuple when there are several). Readonly fields cannot be
/// reassigned: for them ReadState gets a comment saying where the transferred value is.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ReplicaStateCodeFix))]
public sealed class ReplicaStateCodeFix : CodeFixProvider
{
    private const string Title = "Implement IReplicaState for the fields a joining member needs";

    private static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.FullyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.NoStateTransfer.Id);

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            var declaration = root?.FindToken(diagnostic.Location.SourceSpan.Start).Parent?.AncestorsAndSelf().OfType<ClassDeclarationSyntax>().FirstOrDefault();
            if (declaration is null) continue;
            context.RegisterCodeFix(
                CodeAction.Create(Title, ct => ImplementAsync(context.Document, declaration, ct), equivalenceKey: Descriptors.NoStateTransfer.Id),
                diagnostic);
        }
    }

    private static async Task<Document> ImplementAsync(Document document, ClassDeclarationSyntax declaration, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || model?.GetDeclaredSymbol(declaration, cancellationToken) is not { } type) return document;
        var fields = ReplicaStateRule.UntransferredFields(type)
            .Select(f => new StateField(f.AssociatedSymbol?.Name ?? f.Name, f.Type.ToDisplayString(TypeFormat), f.IsReadOnly))
            .ToList();
        if (fields.Count == 0) return document;

        var members = new[] { WriteState(fields), ReadState(fields) }.Select(Parse).ToArray();
        var updated = WithReplicaStateBase(declaration).AddMembers(members);
        return document.WithSyntaxRoot(root.ReplaceNode(declaration, updated));
    }

    private sealed record StateField(string Name, string Type, bool IsReadOnly)
    {
        // A field named like a parameter of WriteState/ReadState must be reached through 'this'.
        public string Reference => Name is "writer" or "state" ? "this." + Name : Name;
    }

    private static string WriteState(List<StateField> fields) => $$"""
        /// <summary>Sends a joining member the state outside versioned fields (written by the DER0009 fix: keep it in step with the fields).</summary>
        public void WriteState(global::System.Buffers.IBufferWriter<byte> writer) => global::MemoryPack.MemoryPackSerializer.Serialize(writer, {{Value(fields)}});
        """;

    private static string ReadState(List<StateField> fields)
    {
        var deserialize = $"global::MemoryPack.MemoryPackSerializer.Deserialize<{ValueType(fields)}>(state)" + (fields.Count == 1 ? "!" : "");
        const string signature = "public void ReadState(global::System.ReadOnlySpan<byte> state)";
        const string summary = "/// <summary>Replaces that state with what <see cref=\"WriteState\"/> wrote at an old member.</summary>";
        if (fields.All(f => !f.IsReadOnly)) return $"{summary}\n{signature} => {Value(fields)} = {deserialize};";

        var lines = new List<string> { summary, signature, "{", $"    var restored = {deserialize};" };
        for (var i = 0; i < fields.Count; i++)
        {
            var part = fields.Count == 1 ? "restored" : $"restored.Item{i + 1}";
            lines.Add(fields[i].IsReadOnly ? $"    // {fields[i].Name} is readonly: copy {part} into it." : $"    {fields[i].Reference} = {part};");
        }
        lines.Add("}");
        return string.Join("\n", lines);
    }

    private static string Value(List<StateField> fields) =>
        fields.Count == 1 ? fields[0].Reference : "(" + string.Join(", ", fields.Select(f => f.Reference)) + ")";

    private static string ValueType(List<StateField> fields) =>
        fields.Count == 1 ? fields[0].Type : "(" + string.Join(", ", fields.Select(f => f.Type)) + ")";

    private static MemberDeclarationSyntax Parse(string text)
    {
        var member = SyntaxFactory.ParseMemberDeclaration(text)!;
        // Every qualified name gets the annotation, so 'global::X.Y' shortens wherever a using allows.
        var names = member.DescendantNodes().Where(n => n is NameSyntax or MemberAccessExpressionSyntax);
        return member.ReplaceNodes(names, (_, rewritten) => rewritten.WithAdditionalAnnotations(Simplifier.Annotation))
            .WithLeadingTrivia(member.GetLeadingTrivia().Insert(0, SyntaxFactory.ElasticCarriageReturnLineFeed))
            .WithAdditionalAnnotations(Formatter.Annotation);
    }

    /// <summary>Adds IReplicaState to the base list, moving the trivia after the name (the line break) behind it.</summary>
    private static ClassDeclarationSyntax WithReplicaStateBase(ClassDeclarationSyntax declaration)
    {
        var baseType = SyntaxFactory.SimpleBaseType(SyntaxFactory.ParseTypeName("global::Derecho.Rpc.IReplicaState").WithAdditionalAnnotations(Simplifier.Annotation));
        if (declaration.BaseList is { } existing) return declaration.WithBaseList(existing.AddTypes(baseType));
        var beforeBase = declaration.Identifier.TrailingTrivia; // [Replicated] types are not generic (DER1004)
        var baseList = SyntaxFactory.BaseList(SyntaxFactory.SingletonSeparatedList<BaseTypeSyntax>(baseType))
            .WithColonToken(SyntaxFactory.Token(SyntaxKind.ColonToken).WithLeadingTrivia(SyntaxFactory.Space).WithTrailingTrivia(SyntaxFactory.Space))
            .WithTrailingTrivia(beforeBase);
        return declaration.WithIdentifier(declaration.Identifier.WithTrailingTrivia()).WithBaseList(baseList);
    }
}
