using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Derecho.Compiler.Tests;
using Derecho.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Derecho.Compiler.Tests.Generators;

/// <summary>Runs the generator with Roslyn's driver directly: for step tracking and snapshot updates.</summary>
internal static class GeneratorTestHarness
{
    public static CSharpCompilation Compile(params string[] sources) => CSharpCompilation.Create(
        "Consumer",
        sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, new CSharpParseOptions(LanguageVersion.Latest), path: $"Source{i}.cs")),
        References.All,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable)
            // The SDK suppresses these assembly-unification notes too.
            .WithSpecificDiagnosticOptions([new("CS1701", ReportDiagnostic.Suppress), new("CS1702", ReportDiagnostic.Suppress)]));

    public static GeneratorDriver Driver(bool trackSteps = false) => CSharpGeneratorDriver.Create(
        [new ReplicatedGenerator().AsSourceGenerator()],
        parseOptions: new CSharpParseOptions(LanguageVersion.Latest),
        driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Generated sources by hint name, plus every diagnostic of the final compilation.</summary>
    public static (ImmutableDictionary<string, string> Sources, ImmutableArray<Diagnostic> Diagnostics) Run(params string[] sources)
    {
        var compilation = Compile(sources);
        Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var result = output.SyntaxTrees.Skip(sources.Length)
            .ToImmutableDictionary(t => Path.GetFileName(t.FilePath), t => t.GetText().ToString());
        return (result, generatorDiagnostics.AddRange(output.GetDiagnostics()));
    }

    /// <summary>The checked-in snapshot folder in the source tree (for DERECHO_UPDATE_SNAPSHOTS=1).</summary>
    public static string SourceSnapshotFolder([CallerFilePath] string here = "") => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "Snapshots"));
}
