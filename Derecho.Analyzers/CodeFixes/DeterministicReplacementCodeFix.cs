using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Simplification;

namespace Derecho.Analyzers.CodeFixes;

/// <summary>
/// Replaces a clock, random source or time-based GUID flagged by DER0001/DER0002 with its deterministic
/// counterpart on <c>Derecho.Rpc.OrderedContext</c>, and a per-process hash flagged by DER0010 with
/// <c>Derecho.Layout.StableHash</c>; the analyzer puts the replacement text in the diagnostic's properties.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(DeterministicReplacementCodeFix))]
public sealed class DeterministicReplacementCodeFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.WallClock.Id, Descriptors.Randomness.Id, Descriptors.ProcessHash.Id);

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(DeterminismRules.ReplacementKey, out var replacement) || replacement is null) continue;
            var title = "Use " + replacement.Replace("global::", "").Replace("Derecho.Rpc.", "").Replace("Derecho.Layout.", "");
            context.RegisterCodeFix(
                CodeAction.Create(title, ct => ReplaceAsync(context.Document, diagnostic.Location.SourceSpan, replacement, ct), equivalenceKey: diagnostic.Id + replacement),
                diagnostic);
        }
        return Task.CompletedTask;
    }

    private static async Task<Document> ReplaceAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan span, string replacement, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null) return document;
        var node = root.FindNode(span, getInnermostNodeForTie: true);
        while (node.Parent is { } parent && parent.Span == span) node = parent;
        var parsed = SyntaxFactory.ParseExpression(replacement);
        // Every qualified name gets the annotation, so 'global::Derecho.X' shortens wherever a using allows.
        var expression = parsed.ReplaceNodes(
                parsed.DescendantNodes().Where(n => n is NameSyntax or MemberAccessExpressionSyntax),
                (_, rewritten) => rewritten.WithAdditionalAnnotations(Simplifier.Annotation))
            .WithTriviaFrom(node)
            .WithAdditionalAnnotations(Simplifier.Annotation, Formatter.Annotation);
        return document.WithSyntaxRoot(root.ReplaceNode(node, expression));
    }
}
