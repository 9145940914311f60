using System.Text.RegularExpressions;
using Derecho.Tests.Support;

namespace Derecho.Tests.Integration;

/// <summary>Three real OS processes on loopback, every one sending ordered calls at once.</summary>
public partial class ThreeProcessTests
{
    [Fact]
    public async Task Ten_thousand_ordered_calls_from_three_processes_are_delivered_identically()
    {
        const int callsPerMember = 3334; // 10,002 calls in all
        var ports = Ports.Free(3);
        var members = Enumerable.Range(0, 3).Select(id => MemberProcess.Start(id, ports, callsPerMember)).ToList();
        try
        {
            var exits = await Task.WhenAll(members.Select(m => m.WaitAsync(TimeSpan.FromMinutes(4))));
            var transcript = string.Join('\n', members.SelectMany(m => m.Output.Select(l => $"[{m.Id}] {l}")));
            Assert.True(exits.All(e => e == 0), $"exit codes {string.Join(",", exits)}\n{transcript}");

            // Every call got exactly one reply from each of the 3 members, all with the same value.
            foreach (var member in members)
            {
                var replies = member.LineStartingWith("REPLIES ") ?? throw new Xunit.Sdk.XunitException($"no REPLIES line\n{transcript}");
                Assert.Contains($"calls={callsPerMember} bad=0", replies);
            }

            // Every replica applied all calls, and the hash of its delivery sequence is the same.
            var finals = members.Select(m => FinalState().Match(m.LineStartingWith("FINAL ") ?? "")).ToList();
            Assert.All(finals, f => Assert.True(f.Success, transcript));
            Assert.All(finals, f => Assert.Equal((3 * callsPerMember).ToString(), f.Groups["calls"].Value));
            Assert.Single(finals.Select(f => f.Groups["state"].Value).Distinct());
        }
        finally
        {
            members.ForEach(m => m.Dispose());
        }
    }

    [GeneratedRegex(@"^FINAL member=\d+ (?<state>value=\d+ calls=(?<calls>\d+) history=[0-9A-F]{16})$")]
    private static partial Regex FinalState();
}
