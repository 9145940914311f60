using System.Text.RegularExpressions;
using Derecho.Compiler.Tests;
using Derecho.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Derecho.Compiler.Tests.Generators;

/// <summary>The pipeline caches, and method ids are stable across builds and edits.</summary>
public partial class GeneratorIncrementalityTests
{
    private const string Counter = """
        using Derecho.Rpc;
        namespace App;
        [Replicated]
        public partial class Counter
        {
            [Ordered] public long Add(long delta) => delta;
            [P2PCallable] public long Read() => 0;
        }
        """;

    [Fact]
    public void Editing_an_unrelated_file_leaves_the_parse_step_cached()
    {
        var compilation = GeneratorTestHarness.Compile(Counter, "namespace App; public class Other { }");
        var driver = GeneratorTestHarness.Driver(trackSteps: true).RunGenerators(compilation);

        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText("namespace App; public class Other { public int X; }", new CSharpParseOptions(LanguageVersion.Latest), path: "Source1.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        var outputs = result.TrackedSteps[ReplicatedGenerator.ParseStep].SelectMany(s => s.Outputs).ToList();
        Assert.NotEmpty(outputs);
        Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step was {o.Reason}"));
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"output was {o.Reason}"));
    }

    [Fact]
    public void Method_ids_are_the_same_in_two_builds_and_survive_adding_a_method()
    {
        var first = MethodIds(Counter);
        var second = MethodIds(Counter);
        Assert.Equal(first, second);

        var extended = MethodIds(Counter.Replace("[P2PCallable]", "[Ordered] public void Clear() { }\n    [P2PCallable]"));
        Assert.Equal(3, extended.Count);
        foreach (var (signature, id) in first) Assert.Equal(id, extended[signature]);
        Assert.Equal(first.Values.Distinct().Count(), first.Count);
    }

    private static Dictionary<string, string> MethodIds(string source)
    {
        var (generated, diagnostics) = GeneratorTestHarness.Run(source);
        Assert.Empty(diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()));
        return CaseLine().Matches(generated.Values.Single()).ToDictionary(m => m.Groups[2].Value, m => m.Groups[1].Value);
    }

    [GeneratedRegex(@"case (0x[0-9A-F]{8})u: // (\S+)")]
    private static partial Regex CaseLine();
}
