using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Derecho.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>
/// The analyzers over a realistic replicated type (Corpus/Warehouse.cs) whose divergence points are marked
/// "// expect: DER…": precision and recall must both be 100%, and the messages (paths included) match
/// Corpus/Warehouse.expected.txt.
/// </summary>
public partial class CorpusTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Corpus");

    [Fact]
    public async Task Every_marked_divergence_is_found_and_nothing_else()
    {
        var source = File.ReadAllText(Path.Combine(Folder, "Warehouse.cs"));
        var expected = Marked(source);
        var actual = (await Analyze(source)).Select(d => (Line: d.Location.GetLineSpan().StartLinePosition.Line + 1, d.Id)).ToHashSet();

        var found = actual.Intersect(expected).Count();
        var precision = actual.Count == 0 ? 1.0 : (double)found / actual.Count;
        var recall = (double)found / expected.Count;
        Assert.True(precision == 1.0 && recall == 1.0,
            $"precision {precision:P0}, recall {recall:P0}; missed: {string.Join(", ", expected.Except(actual))}; unexpected: {string.Join(", ", actual.Except(expected))}");
    }

    [Fact]
    public async Task Messages_match_the_checked_in_file()
    {
        var source = File.ReadAllText(Path.Combine(Folder, "Warehouse.cs"));
        var actual = string.Join("\n", (await Analyze(source)).OrderBy(d => d.Location.SourceSpan.Start).ThenBy(d => d.Id, StringComparer.Ordinal).Select(Format));
        var expected = File.ReadAllText(Path.Combine(Folder, "Warehouse.expected.txt")).ReplaceLineEndings("\n").TrimEnd();
        // Next to the test binary, to review and copy over the expected file when a message changes on purpose.
        if (expected != actual) File.WriteAllText(Path.Combine(Folder, "Warehouse.actual.txt"), actual + "\n");
        Assert.Equal(expected, actual);
    }

    private static HashSet<(int Line, string Id)> Marked(string source)
    {
        var marked = new HashSet<(int, string)>();
        var lines = source.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
            if (Expectation().Match(lines[i]) is { Success: true } match)
                foreach (var id in match.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries)) marked.Add((i + 1, id));
        return marked;
    }

    private static async Task<ImmutableArray<Diagnostic>> Analyze(string source)
    {
        var compilation = CSharpCompilation.Create("Corpus",
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest), path: "Warehouse.cs")],
            References.All, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var analyzers = ImmutableArray.Create<DiagnosticAnalyzer>(new ReplicatedHandlerAnalyzer(), new SerializableTypeAnalyzer(), new StateTransferAnalyzer());
        return await compilation.WithAnalyzers(analyzers).GetAnalyzerDiagnosticsAsync();
    }

    private static string Format(Diagnostic diagnostic)
    {
        var position = diagnostic.Location.GetLineSpan().StartLinePosition;
        return $"{position.Line + 1}:{position.Character + 1} {diagnostic.Id} {diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
    }

    [GeneratedRegex(@"// expect: (DER\d{4}(?:, DER\d{4})*)\s*$")]
    private static partial Regex Expectation();
}
