using Derecho.Layout;
using Derecho.Membership;

namespace Derecho.Tests.Membership;

/// <summary>The total-restart rules as a pure function: newest logged view, quorum, a holder per shard, longest log wins.</summary>
public sealed class RestartPlanTests
{
    private static readonly (int, long)[] Configured = [(0, 100), (1, 101), (2, 102)];

    private static GroupLayout OneShard(params int[] members) => new([new SubgroupLayout(7, "T", [members])]);

    private static RestartReport Report(int id, long view, int[] members, long version, GroupLayout? layout = null) =>
        new(id, view, members.Select(m => (m, 100L + m)).ToArray(), layout ?? OneShard(members), view < 0 ? [] : [(7u, 0, version)]);

    private static Dictionary<int, RestartReport> Reports(params RestartReport[] reports) => reports.ToDictionary(r => r.Id);

    [Fact]
    public void A_first_start_needs_every_configured_member_and_forms_view_0()
    {
        Assert.Null(RestartPlan.Decide(Configured, Reports(Report(0, -1, [], 0), Report(1, -1, [], 0)), out var waiting));
        Assert.Contains("member(s) 2", waiting);
        var decision = RestartPlan.Decide(Configured, Reports(Report(0, -1, [], 0), Report(1, -1, [], 0), Report(2, -1, [], 0)), out _);
        Assert.Equal(0, decision!.ViewId);
        Assert.Equal([0, 1, 2], decision.Members.Select(m => m.Id));
    }

    [Fact]
    public void The_newest_logged_view_wins_and_a_member_removed_earlier_rejoins()
    {
        // Member 2 crashed in view 0; view 1 = {0, 1} went on and acknowledged more.
        var reports = Reports(Report(0, 1, [0, 1], 500), Report(1, 1, [0, 1], 480), Report(2, 0, [0, 1, 2], 90));
        var decision = RestartPlan.Decide(Configured, reports, out _)!;
        Assert.Equal(2, decision.ViewId); // view ids continue, so versions keep increasing
        Assert.Equal([0, 1], decision.Members.Select(m => m.Id));
        Assert.Equal([2], decision.Rejoin);
        Assert.Equal(new ShardSource(7, 0, 0, 500), Assert.Single(decision.Sources)); // the longest log, never the shortest
        Assert.Equal(0, RestartPlan.Leader(reports));
    }

    [Fact]
    public void A_majority_of_the_newest_view_is_enough_when_a_disk_is_lost()
    {
        var reports = Reports(Report(1, 4, [0, 1, 2], 700), Report(2, 4, [0, 1, 2], 710), Report(0, -1, [], 0));
        var decision = RestartPlan.Decide(Configured, reports, out _)!;
        Assert.Equal([1, 2], decision.Members.Select(m => m.Id));
        Assert.Equal([0], decision.Rejoin); // its disk is empty: it gets the state as a joiner
        Assert.Equal(2, Assert.Single(decision.Sources).Source);
        Assert.Equal(1, RestartPlan.Leader(reports));
    }

    [Fact]
    public void A_member_that_crashed_before_logging_the_newest_view_still_counts_and_catches_up()
    {
        // View 5 = {0, 1, 2} was installed by member 0 only; 1 and 2 crashed with view 4 on disk.
        var reports = Reports(Report(0, 5, [0, 1, 2], 900), Report(1, 4, [0, 1, 2], 880), Report(2, 4, [0, 1, 2], 870));
        var decision = RestartPlan.Decide(Configured, reports, out _)!;
        Assert.Equal(6, decision.ViewId);
        Assert.Equal([0, 1, 2], decision.Members.Select(m => m.Id));
        Assert.Equal(new ShardSource(7, 0, 0, 900), Assert.Single(decision.Sources));
        Assert.Equal([0, 1, 2], Assert.Single(decision.Holders));
    }

    [Fact]
    public void Without_a_majority_the_restart_waits_and_names_the_missing_members()
    {
        Assert.Null(RestartPlan.Decide(Configured, Reports(Report(1, 4, [0, 1, 2], 700)), out var waiting));
        Assert.Contains("1 of the 3 members of view 4", waiting);
        Assert.Contains("member(s) 0, 2", waiting);
    }

    [Fact]
    public void Every_shard_needs_a_member_back_that_held_it()
    {
        var layout = new GroupLayout([new SubgroupLayout(7, "T", [[0, 1], [2, 3]])]);
        int[] members = [0, 1, 2, 3, 4];
        RestartReport R(int id) => new(id, 3, members.Select(m => (m, 100L + m)).ToArray(), layout, [(7u, id < 2 ? 0 : 1, 10L * id)]);
        Assert.Null(RestartPlan.Decide(Configured, Reports(R(0), R(1), R(4)), out var waiting));
        Assert.Contains("shard 1", waiting);
        var decision = RestartPlan.Decide(Configured, Reports(R(0), R(1), R(3)), out _)!;
        Assert.Equal([new ShardSource(7, 0, 1, 10), new ShardSource(7, 1, 3, 30)], decision.Sources);
    }
}
