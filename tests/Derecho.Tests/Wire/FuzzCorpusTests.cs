using Derecho.Fuzz;
using Derecho.Tests.Support;

namespace Derecho.Tests.Wire;

/// <summary>
/// Replays what the fuzzer found (fuzz/corpus/&lt;target&gt;/, kept after each fix) and the seeds it starts from
/// through the same targets afl runs: each input decodes or is refused cleanly, within a deadline and an
/// allocation budget (FuzzTargets.Run). See fuzz/README.md.
/// </summary>
public sealed class FuzzCorpusTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private static string CorpusRoot => Path.Combine(Repository.Root, "fuzz", "corpus");

    public static TheoryData<string, string> CorpusInputs()
    {
        var inputs = new TheoryData<string, string>();
        foreach (var folder in Directory.GetDirectories(CorpusRoot).Order(StringComparer.Ordinal))
            foreach (var file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
                inputs.Add(Path.GetFileName(folder), Path.GetFileName(file));
        return inputs;
    }

    public static TheoryData<string> Targets() => [.. FuzzTargets.All.Keys];

    [Theory]
    [MemberData(nameof(CorpusInputs))]
    public void A_found_input_decodes_or_is_refused_cleanly(string target, string file) =>
        RunWithinDeadline(target, File.ReadAllBytes(Path.Combine(CorpusRoot, target, file)));

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_seed_decodes(string target)
    {
        Assert.NotEmpty(Seeds.For(target));
        foreach (var seed in Seeds.For(target)) RunWithinDeadline(target, seed);
    }

    [Fact]
    public void Every_corpus_folder_is_a_target() =>
        Assert.All(Directory.GetDirectories(CorpusRoot), folder => Assert.Contains(Path.GetFileName(folder), FuzzTargets.All.Keys));

    private static void RunWithinDeadline(string target, byte[] input)
    {
        var run = Task.Run(() => FuzzTargets.Run(target, input));
        Assert.True(run.Wait(Deadline), $"{target} did not finish within {Deadline.TotalSeconds:0}s on an input of {input.Length} bytes");
    }
}
