using Derecho.Tests.Support;

namespace Derecho.Tests.Membership;

/// <summary>
/// Delivery of the ragged trim waits for every member the proposal keeps to have logged and echoed it,
/// as in Derecho; the view is installed only once the trim's deliveries are on disk.
/// </summary>
public class EchoedTrimTests
{
    [Fact]
    public void A_trim_only_one_member_saw_is_not_delivered_when_the_next_leader_publishes_another()
    {
        // Seven members. Member 5 lags on member 1's last ten messages. Member 6 crashes; the leader (0) also
        // suspects the slow member 5, so its trim, the minimum over the rows it still trusts, keeps all of member
        // 1's messages. Only member 4 sees that proposal, then the leader and member 4 crash. The survivors,
        // 5 among them, never learn of it: their leader's trim keeps only what member 5 received.
        var network = new InMemoryNetwork();
        int[] ids = [0, 1, 2, 3, 4, 5, 6];
        var members = ids.Select(id => new SteppedMember(network, id, ids)).ToArray();
        void Round(Func<int, int, bool>? allow = null)
        {
            foreach (var m in members) m.Step();
            network.Deliver(allow);
        }
        foreach (var m in members) m.Send(0, 5);
        for (var r = 0; r < 4; r++) Round();
        Assert.All(members, m => Assert.Equal(35, m.Delivered.Count));

        members[1].Send(5, 10);
        bool Hold1To5(int from, int to) => !(from == 1 && to == 5);
        for (var r = 0; r < 6; r++) Round(Hold1To5);

        Crash(network, members[6], members.Take(6));
        members[0].Reports.Enqueue((5, "test: its heartbeats are late"));
        bool LeaderReachesOnly4(int from, int to) => Hold1To5(from, to) && (from != 0 || to == 4);
        for (var r = 0; r < 30 && members[0].View.Sst.Get(0, members[0].View.Sst.Layout.ProposalId) == 0; r++) Round(LeaderReachesOnly4);
        var leaderRow = members[0].View.Sst;
        var proposal = leaderRow.Get(0, leaderRow.Layout.ProposalId);
        Assert.NotEqual(0, proposal);
        var first = Enumerable.Range(0, ids.Length).Select(j => leaderRow.Get(0, leaderRow.Layout.Trim(j))).ToArray();

        // Member 4 echoes the trim; nobody sees the echo.
        members[4].Step();
        Assert.Equal(proposal, members[4].View.Sst.Get(4, members[4].View.Sst.Layout.TrimProposal));
        Crash(network, members[0], members.Where(m => !m.Dead && m.Id != 4));
        Crash(network, members[4], members.Where(m => !m.Dead));

        var survivors = members.Where(m => !m.Dead).ToArray();
        for (var r = 0; r < 60 && survivors.Any(m => m.Installed is null); r++) Round();
        Assert.All(survivors, m => Assert.Equal([1, 2, 3, 5], m.Installed?.Members));
        var final = survivors[0].InstalledTrim!;
        Assert.All(survivors, m => Assert.Equal(final, m.InstalledTrim));
        string Show(long[] trim) => $"[{string.Join(", ", trim)}]";
        Assert.True(final[1] < first[1], $"the scenario needs the final trim {Show(final)} to keep less of member 1 than the first {Show(first)}");

        // No member, crashed ones included, delivered anything the final trim leaves out or in another order.
        Assert.All(survivors, m => Assert.Equal(survivors[0].Delivered, m.Delivered));
        foreach (var m in members)
        {
            Assert.All(m.Delivered, d => Assert.True(d.Index < final[d.Sender],
                $"member {m.Id} delivered message {d.Index} of member {d.Sender}, beyond the final trim {Show(final)}"));
            Assert.Equal(m.Delivered, survivors[0].Delivered.Take(m.Delivered.Count));
        }
        // The leader logged the trim before it published it, member 4 before it echoed it.
        Assert.Equal(first, Assert.Single(members[0].LoggedTrims).Trim);
        var logged = Assert.Single(members[4].LoggedTrims);
        Assert.Equal(first, logged.Trim);
        Assert.NotEqual(proposal, logged.EchoedThen);
    }

    [Fact]
    public void The_view_is_installed_only_once_the_trims_deliveries_are_on_disk()
    {
        var network = new InMemoryNetwork();
        int[] ids = [0, 1, 2];
        var members = ids.Select(id => new SteppedMember(network, id, ids)).ToArray();
        void Round()
        {
            foreach (var m in members) m.Step();
            network.Deliver();
        }
        foreach (var m in members) m.Send(0, 5);
        for (var r = 0; r < 2; r++) Round();

        members[1].DiskCaughtUp = false;
        Crash(network, members[2], members.Take(2));
        for (var r = 0; r < 30 && members[0].Installed is null; r++) Round();
        Assert.NotNull(members[0].Installed);
        Assert.Equal(15, members[1].Delivered.Count); // the trim is delivered...
        for (var r = 0; r < 5; r++) Round();
        Assert.Null(members[1].Installed); // ...but not yet on disk

        members[1].DiskCaughtUp = true;
        Round();
        Assert.Equal([0, 1], members[1].Installed?.Members);
    }

    /// <summary>The member stops and its traffic, queued or not, is lost; the witnesses' failure detectors report it.</summary>
    private static void Crash(InMemoryNetwork network, SteppedMember victim, IEnumerable<SteppedMember> witnesses)
    {
        network.Cut(victim.Id);
        victim.Dead = true;
        foreach (var m in witnesses) m.Reports.Enqueue((victim.Id, "test: crashed"));
    }
}
