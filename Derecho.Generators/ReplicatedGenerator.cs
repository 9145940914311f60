using Derecho.Generators.Emitter;
using Derecho.Generators.Model;
using Derecho.Generators.Parser;
using Microsoft.CodeAnalysis;

namespace Derecho.Generators;

/// <summary>
/// For every [Replicated] partial class: stable method ids, MemoryPack marshalling, the dispatch switch
/// and the typed proxy. The pipeline carries only equatable models, so unrelated edits hit the cache.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ReplicatedGenerator : IIncrementalGenerator
{
    /// <summary>Name of the tracking step that parses types (tests assert it is cached).</summary>
    public const string ParseStep = "ParseReplicatedType";

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var parsed = context.SyntaxProvider.ForAttributeWithMetadataName(
                ReplicatedTypeParser.ReplicatedAttribute,
                static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.TypeDeclarationSyntax,
                static (syntax, cancellationToken) => ReplicatedTypeParser.Parse(syntax, cancellationToken))
            .WithTrackingName(ParseStep);

        context.RegisterSourceOutput(parsed, static (output, result) =>
        {
            foreach (var diagnostic in result.Diagnostics) output.ReportDiagnostic(diagnostic.ToDiagnostic());
            if (result.Type is { } type) output.AddSource(type.HintName, ReplicatedTypeEmitter.Emit(type));
        });
    }
}
