using System.Text.RegularExpressions;
using Derecho.Testing;
using Derecho.Tests.Support;

namespace Derecho.Tests.Integration;

/// <summary>
/// Three members on three network-namespace hosts; one host's link is cut mid-stream. The majority side
/// must detect it by heartbeat timeout, install a view without it and finish identically; the cut-off
/// member must stop with a clear reason and must not have applied more than the majority did. The hosts are not
/// loopback, so the group runs with mutual TLS (plaintext there needs AllowInsecure).
/// </summary>
public partial class PartitionTests
{
    [SkippableFact]
    public async Task Cut_member_stops_and_the_majority_continues()
    {
        var unavailable = NetworkNamespaces.Unavailable();
        Skip.If(unavailable is not null, unavailable);
        using var hosts = new NetworkNamespaces(3, $"drc{Environment.ProcessId % 10000}", 77);
        using var pki = new TestPki();
        foreach (var id in Enumerable.Range(0, 3)) pki.Member(id);
        var ports = new[] { 7100, 7101, 7102 };
        var addresses = string.Join(',', Enumerable.Range(0, 3).Select(hosts.Address));
        var members = Enumerable.Range(0, 3)
            .Select(id => MemberProcess.Start(id, ports, calls: 200_000, faults: $"--hosts {addresses} --tls {pki.Folder}", networkNamespace: hosts.Namespace(id)))
            .ToArray();
        try
        {
            await members[2].WaitForLine("PROGRESS member=2 done=2048");
            hosts.Cut(2);
            Assert.Null(members[2].LineStartingWith("REPLIES ")); // the cut came mid-stream

            var exits = await Task.WhenAll(members.Select(m => m.WaitAsync(TimeSpan.FromMinutes(4))));
            var transcript = string.Join('\n', members.SelectMany(m => m.Output.Select(l => $"[{m.Id}] {l}")));
            Assert.True(exits[0] == 0 && exits[1] == 0, $"majority exit codes {exits[0]},{exits[1]}\n{transcript}");
            Assert.True(exits[2] == 3, $"cut-off member exit code {exits[2]} (3 = stopped)\n{transcript}");

            var stopped = members[2].LineStartingWith("STOPPED ") ?? "";
            Assert.Contains("fewer than a majority", stopped);
            // The cut is seen by heartbeat timeout (no connection breaks); whoever times out first spreads the
            // suspicion, so the other majority member may adopt it before its own timeout.
            Assert.Contains(members.Take(2), m => string.Join('\n', m.Output).Contains("no heartbeat"));
            foreach (var m in members.Take(2))
            {
                Assert.Contains("suspects member 2", string.Join('\n', m.Output));
                Assert.Contains("VIEW id=1 members=0,1 joined= departed=2", string.Join('\n', m.Output));
                Assert.Contains("bad=0", m.LineStartingWith("REPLIES ") ?? transcript);
            }
            var finals = members.Select(m => FinalState().Match(m.LineStartingWith("FINAL ") ?? "")).ToArray();
            Assert.All(finals, f => Assert.True(f.Success, transcript));
            Assert.Equal(finals[0].Groups["state"].Value, finals[1].Groups["state"].Value);
            // No split brain: the minority applied nothing beyond what the majority applied.
            Assert.True(long.Parse(finals[2].Groups["calls"].Value) <= long.Parse(finals[0].Groups["calls"].Value), transcript);
        }
        finally
        {
            foreach (var member in members) member.Dispose();
        }
    }

    [GeneratedRegex(@"^FINAL member=\d+ (?<state>value=\d+ calls=(?<calls>\d+) history=[0-9A-F]{16})$")]
    private static partial Regex FinalState();
}
