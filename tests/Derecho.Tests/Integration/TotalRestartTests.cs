using System.Text.RegularExpressions;
using Derecho.Tests.Support;

namespace Derecho.Tests.Integration;

/// <summary>
/// Three member processes update a Persistent&lt;long&gt; total; all three are SIGKILLed mid-stream and
/// started again on the same data directories. Every version any member reported as globally persisted
/// must be back, with the same total, identical on all replicas.
/// </summary>
public sealed partial class TotalRestartTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("derecho-restart-");

    public void Dispose() => _data.Delete(recursive: true);

    [Fact]
    public async Task Killing_every_member_and_restarting_recovers_every_globally_persisted_version()
    {
        var ports = Ports.Free(3);
        var data = $"--data {_data.FullName}";
        var first = Enumerable.Range(0, 3).Select(id => MemberProcess.Start(id, ports, 1_000_000, data)).ToArray();
        long reportedVersion, reportedTotal;
        try
        {
            await WaitOrShow(first, () => first.All(m => m.Output.Count(l => l.StartsWith("GLOBALLY-PERSISTED", StringComparison.Ordinal)) >= 20),
                "every member to report globally persisted versions");
            foreach (var member in first) member.Kill();
            foreach (var member in first) await member.WaitAsync(TimeSpan.FromMinutes(1));
            Assert.All(first, m => Assert.Null(m.LineStartingWith("FINAL "))); // killed mid-stream
            var reports = first.SelectMany(m => m.Output).Select(l => Persisted().Match(l)).Where(m => m.Success)
                .Select(m => (Version: long.Parse(m.Groups[1].Value), Total: long.Parse(m.Groups[2].Value))).ToList();
            (reportedVersion, reportedTotal) = reports.MaxBy(r => r.Version);
            // Reports at the same version agree.
            Assert.All(reports.GroupBy(r => r.Version), g => Assert.Single(g.Select(r => r.Total).Distinct()));
        }
        finally
        {
            foreach (var member in first) member.Dispose();
        }

        var ports2 = Ports.Free(3);
        var restarted = Enumerable.Range(0, 3).Select(id => MemberProcess.Start(id, ports2, 0, $"{data} --at {reportedVersion}")).ToArray();
        try
        {
            var exits = await Task.WhenAll(restarted.Select(m => m.WaitAsync(TimeSpan.FromMinutes(2))));
            var transcript = string.Join('\n', restarted.SelectMany(m => m.Output.Select(l => $"[{m.Id}] {l}")));
            Assert.True(exits.All(e => e == 0), transcript);
            var recovered = restarted.Select(m => Recovered().Match(m.LineStartingWith("RECOVERED ") ?? "")).ToList();
            Assert.All(recovered, r => Assert.True(r.Success, transcript));
            Assert.Single(recovered.Select(r => r.Groups["state"].Value).Distinct());
            Assert.True(long.Parse(recovered[0].Groups["version"].Value) >= reportedVersion, transcript);
            Assert.All(restarted, m => Assert.Equal($"AT version={reportedVersion} found={reportedVersion} total={reportedTotal}", m.LineStartingWith("AT ")));
        }
        finally
        {
            foreach (var member in restarted) member.Dispose();
        }
    }

    /// <summary>
    /// Scenario: member 2 is SIGKILLed, view {0, 1} goes on and acknowledges more durable updates, then both are
    /// SIGKILLed and restarted. The restart must start from view {0, 1}, not from the configured three, and
    /// keep every update the later view reported globally persisted (before, the logs were cut to member 2's).
    /// </summary>
    [Fact]
    public async Task Restarting_after_a_membership_change_keeps_what_the_later_view_persisted()
    {
        var ports = Ports.Free(3);
        var data = $"--data {_data.FullName}";
        var first = Enumerable.Range(0, 3).Select(id => MemberProcess.Start(id, ports, 1_000_000, data)).ToArray();
        long reportedVersion, reportedTotal;
        try
        {
            await WaitOrShow(first, () => first.All(m => m.Output.Any(l => l.StartsWith("GLOBALLY-PERSISTED", StringComparison.Ordinal))), "every member to persist");
            first[2].Kill();
            // Versions of view 1 and later carry its id in their top bits: wait for plenty of them at both survivors.
            await WaitOrShow(first, () => first[..2].All(m => Reports(m).Count(r => r.Version >> 40 >= 1) >= 20), "the survivors to persist in the next view");
            first[0].Kill();
            first[1].Kill();
            foreach (var member in first) await member.WaitAsync(TimeSpan.FromMinutes(1));
            (reportedVersion, reportedTotal) = first[..2].SelectMany(Reports).MaxBy(r => r.Version);
            Assert.True(reportedVersion >> 40 >= 1);
        }
        finally
        {
            foreach (var member in first) member.Dispose();
        }

        var ports2 = Ports.Free(3);
        var restarted = Enumerable.Range(0, 2).Select(id => MemberProcess.Start(id, ports2, 0, $"{data} --at {reportedVersion}")).ToArray();
        try
        {
            var exits = await Task.WhenAll(restarted.Select(m => m.WaitAsync(TimeSpan.FromMinutes(2))));
            var transcript = string.Join('\n', restarted.SelectMany(m => m.Output.Select(l => $"[{m.Id}] {l}")));
            Assert.True(exits.All(e => e == 0), transcript);
            Assert.All(restarted, m => Assert.Equal($"AT version={reportedVersion} found={reportedVersion} total={reportedTotal}", m.LineStartingWith("AT ")));
            Assert.Single(restarted.Select(m => Recovered().Match(m.LineStartingWith("RECOVERED ") ?? "").Groups["state"].Value).Distinct());
        }
        finally
        {
            foreach (var member in restarted) member.Dispose();
        }
    }

    /// <summary>Waits for <paramref name="condition"/>; on timeout the members' output (but the persisted reports) says why.</summary>
    private static async Task WaitOrShow(MemberProcess[] members, Func<bool> condition, string what)
    {
        try { await Eventually.True(condition, what); }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; output:\n{string.Join('\n', members.SelectMany(m => m.Output.Where(l => !l.StartsWith("GLOBALLY", StringComparison.Ordinal)).Select(l => $"[{m.Id}] {l}")))}");
        }
    }

    private static List<(long Version, long Total)> Reports(MemberProcess member) =>
        member.Output.Select(l => Persisted().Match(l)).Where(m => m.Success)
            .Select(m => (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value))).ToList();

    [GeneratedRegex(@"^GLOBALLY-PERSISTED member=\d+ version=(\d+) total=(\d+)$")]
    private static partial Regex Persisted();

    [GeneratedRegex(@"^RECOVERED member=\d+ (?<state>version=(?<version>\d+) total=\d+ versions=\d+)$")]
    private static partial Regex Recovered();
}
