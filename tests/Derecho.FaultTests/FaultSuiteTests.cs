using Derecho.Testing;
using Xunit.Abstractions;

namespace Derecho.FaultTests;

/// <summary>
/// The bounded CI run of the fault suite: real member and client processes, every nemesis fault kind, then the
/// checks (README.md). FAULTS_SECONDS overrides its length (default 60); the long run is <c>--minutes N</c>.
/// </summary>
public sealed class FaultSuiteTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Under_kills_and_pauses_every_history_is_linearizable_and_replicas_agree()
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("FAULTS_SECONDS"), out var s) ? s : 90;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FAULTS_SEED"), out var given) ? given : Environment.TickCount & 0xffff;
        // Every kind a 3-member group can take (kill-staggered needs 5), partitions and slow links where namespaces exist,
        // full disks where tmpfs can be mounted (root).
        var kinds = FaultRun.AllFaults.Where(f => f != "kill-staggered" && (NetworkNamespaces.Unavailable() is null || f is not ("partition" or "slow-link"))
            && (Environment.UserName == "root" || f != "disk-full")).ToList();
        var result = await FaultRun.RunAsync(new FaultRunConfig { Duration = TimeSpan.FromSeconds(seconds), Seed = seed, Faults = kinds }, output.WriteLine);
        Assert.True(result.Passed, $"fault run failed (seed {seed}, history {result.HistoryPath}):\n{FaultRun.Table(result)}\n{result.CheckerReport}");
        // Every kind of fault was injected and behaved as README.md says.
        Assert.All(result.FaultsByKind, f => Assert.True(f.Value > 0, $"{f.Key} never injected"));
        Assert.All(result.Events, e => Assert.True(e.AsExpected, $"{e.Kind} of member {e.Member} at {e.AtSeconds:0.0}s: {e.Detail}"));
        Assert.True(result.Ok > 1000, $"only {result.Ok} operations succeeded");
    }

    /// <summary>
    /// The mutation check: members whose ordered read answers the value before the key's latest put (as a runtime
    /// delivering a read ahead of the write ordered before it would). Replicas still agree, digests still match;
    /// only the history shows it, and the checker must say so.
    /// </summary>
    [Fact]
    public async Task A_runtime_that_serves_stale_reads_is_caught_by_the_checker()
    {
        var result = await FaultRun.RunAsync(new FaultRunConfig { Duration = TimeSpan.FromSeconds(10), Mutation = "stale-read", Faults = [], Seed = 7 }, output.WriteLine);
        Assert.True(result.Anomalies > 0, $"the checker missed the stale reads:\n{FaultRun.Table(result)}");
        Assert.True(result.DigestsAgree, "the mutation should not make replicas differ (only the checker can see it)");
        Assert.Equal(0, result.Hangs);
        Assert.Contains("NOT linearizable", result.CheckerReport, StringComparison.Ordinal);
    }
}
