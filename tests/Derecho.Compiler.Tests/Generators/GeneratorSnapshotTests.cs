using System.Text;
using Derecho.Compiler.Tests;
using Derecho.Generators;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;
using Microsoft.CodeAnalysis.Text;

namespace Derecho.Compiler.Tests.Generators;

/// <summary>
/// Generated source compared with checked-in expected files (Snapshots/&lt;case&gt;/*.g.cs) through the
/// Roslyn source generator testing framework, which also fails on any compiler diagnostic in the result.
/// Set DERECHO_UPDATE_SNAPSHOTS=1 to rewrite the expected files after an intended change.
/// </summary>
public class GeneratorSnapshotTests
{
    [Theory]
    [InlineData("Counter")]
    [InlineData("NestedOverloads")]
    [InlineData("Record")]
    [InlineData("StateTransfer")]
    [InlineData("Trigger")]
    public async Task Generated_source_matches_snapshot_and_compiles_cleanly(string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "Snapshots", name);
        var input = await File.ReadAllTextAsync(Path.Combine(folder, "input.cs"));
        if (Environment.GetEnvironmentVariable("DERECHO_UPDATE_SNAPSHOTS") == "1") UpdateSnapshots(name, input);

        var test = new CSharpSourceGeneratorTest<ReplicatedGenerator, DefaultVerifier>
        {
            ReferenceAssemblies = References.Empty,
        };
        test.TestState.Sources.Add(input);
        test.TestState.AdditionalReferences.AddRange(References.All);
        var expected = Directory.GetFiles(folder, "*.g.cs");
        Assert.NotEmpty(expected);
        foreach (var file in expected)
            test.TestState.GeneratedSources.Add((typeof(ReplicatedGenerator), Path.GetFileName(file),
                SourceText.From(await File.ReadAllTextAsync(file), Encoding.UTF8)));
        await test.RunAsync();
    }

    private static void UpdateSnapshots(string name, string input)
    {
        var (sources, _) = GeneratorTestHarness.Run(input);
        var folder = Path.Combine(GeneratorTestHarness.SourceSnapshotFolder(), name);
        foreach (var old in Directory.GetFiles(folder, "*.g.cs")) File.Delete(old);
        foreach (var (hint, text) in sources) File.WriteAllText(Path.Combine(folder, hint), text);
        foreach (var (hint, text) in sources) File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "Snapshots", name, hint), text);
    }
}
