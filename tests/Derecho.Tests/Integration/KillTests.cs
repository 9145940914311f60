using System.Text.RegularExpressions;
using Derecho.Tests.Support;

namespace Derecho.Tests.Integration;

/// <summary>
/// Members are real processes sending ordered calls as fast as they can; some are killed with SIGKILL
/// mid-stream (they send it to themselves at a precise point: after K calls, or the moment they see a view
/// change under way, so a busy CI box cannot make the fault late). Survivors must install the same new view, end with identical delivery sequences (same hash
/// of the whole sequence: nothing lost, duplicated or reordered at any survivor), and every survivor's own
/// calls must complete (re-sent if the trim cut them off), with no bad reply.
/// </summary>
public partial class KillTests
{
    private const int Calls = 40_000;

    [Fact]
    public Task Killing_one_of_three_mid_stream() =>
        Scenario(members: 3, faults: new() { [2] = "--die-after 3000" }, survivors: [0, 1], finalView: "members=0,1");

    [Fact]
    public Task Killing_the_leader_mid_stream() =>
        Scenario(members: 3, faults: new() { [0] = "--die-after 3000" }, survivors: [1, 2], finalView: "members=1,2");

    [Fact]
    public Task Killing_a_member_during_the_view_change() =>
        Scenario(members: 5, faults: new() { [4] = "--die-after 3000", [3] = "--die-during-view-change" }, survivors: [0, 1, 2], finalView: "members=0,1,2");

    [Fact]
    public Task Killing_the_leader_during_the_view_change() =>
        // Member 4 crashes; the leader (member 0) dies as soon as it sees the change under way, so member 1
        // must take over and finish it (adopting any trim already published).
        Scenario(members: 5, faults: new() { [4] = "--die-after 3000", [0] = "--die-during-view-change" }, survivors: [1, 2, 3], finalView: "members=1,2,3");

    [Fact]
    public async Task Killed_member_restarts_as_a_new_incarnation_and_gets_the_state()
    {
        var ports = Ports.Free(3);
        var processes = new List<MemberProcess>
        {
            MemberProcess.Start(0, ports, 100_000),
            MemberProcess.Start(1, ports, 100_000),
            MemberProcess.Start(2, ports, Calls, "--die-after 3000"),
        };
        try
        {
            Assert.NotEqual(0, await processes[2].WaitAsync(TimeSpan.FromMinutes(4)));
            await processes[0].WaitForLine("VIEW id=1 members=0,1");
            var restarted = MemberProcess.Start(2, ports, 5000, "--join");
            processes.Add(restarted);
            var exits = await Task.WhenAll(new[] { processes[0], processes[1], restarted }.Select(p => p.WaitAsync(TimeSpan.FromMinutes(4))));
            var transcript = string.Join('\n', processes.SelectMany(p => p.Output.Select(l => $"[{p.Id}] {l}")));
            Assert.True(exits.All(e => e == 0), $"exit codes {string.Join(",", exits)}\n{transcript}");

            var joinedLine = restarted.LineStartingWith("JOINED ") ?? "";
            Assert.Contains("members=0,1,2", joinedLine);
            Assert.DoesNotContain("calls-in-state=0", joinedLine); // it started from the transferred state
            var finals = new[] { processes[0], processes[1], restarted }.Select(p => FinalState().Match(p.LineStartingWith("FINAL ") ?? "")).ToList();
            Assert.All(finals, f => Assert.True(f.Success, transcript));
            Assert.Single(finals.Select(f => f.Groups["state"].Value).Distinct());
        }
        finally
        {
            foreach (var process in processes) process.Dispose();
        }
    }

    private static async Task Scenario(int members, Dictionary<int, string> faults, int[] survivors, string finalView)
    {
        var ports = Ports.Free(members);
        var processes = Enumerable.Range(0, members).Select(id => MemberProcess.Start(id, ports, Calls, faults.GetValueOrDefault(id, ""))).ToArray();
        try
        {
            foreach (var victim in faults.Keys)
            {
                Assert.NotEqual(0, await processes[victim].WaitAsync(TimeSpan.FromMinutes(4)));
                Assert.NotNull(processes[victim].LineStartingWith("DYING by SIGKILL"));
                Assert.Null(processes[victim].LineStartingWith("REPLIES "));
            }
            var exits = await Task.WhenAll(survivors.Select(i => processes[i].WaitAsync(TimeSpan.FromMinutes(4))));
            var transcript = string.Join('\n', processes.SelectMany(p => p.Output.Select(l => $"[{p.Id}] {l}")));
            Assert.True(exits.All(e => e == 0), $"survivor exit codes {string.Join(",", exits)}\n{transcript}");

            foreach (var i in survivors)
            {
                Assert.Contains($"REPLIES member={i} calls={Calls} bad=0", processes[i].LineStartingWith("REPLIES ") ?? transcript);
                var lastView = processes[i].Output.LastOrDefault(l => l.StartsWith("VIEW ", StringComparison.Ordinal));
                Assert.True(lastView?.Contains(finalView) == true, $"member {i} last view: {lastView ?? "none"}\n{transcript}");
            }
            var finals = survivors.Select(i => FinalState().Match(processes[i].LineStartingWith("FINAL ") ?? "")).ToList();
            Assert.All(finals, f => Assert.True(f.Success, transcript));
            Assert.Single(finals.Select(f => f.Groups["state"].Value).Distinct());
            // Every survivor's calls were all applied, plus whatever the killed members got delivered before they died.
            Assert.All(finals, f => Assert.True(long.Parse(f.Groups["calls"].Value) >= (long)survivors.Length * Calls));
        }
        finally
        {
            foreach (var process in processes) process.Dispose();
        }
    }

    [GeneratedRegex(@"^FINAL member=\d+ (?<state>value=\d+ calls=(?<calls>\d+) history=[0-9A-F]{16})$")]
    private static partial Regex FinalState();
}
