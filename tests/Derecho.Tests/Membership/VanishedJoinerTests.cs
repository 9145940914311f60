using System.Net;
using Derecho.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Membership;

/// <summary>A process that asks to join and then goes silent or away must not stall the group.</summary>
public class VanishedJoinerTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_joiner_that_never_acknowledges_is_dropped_and_a_later_joiner_still_gets_in(bool exits)
    {
        var log = new CapturingLoggerProvider();
        var group = await InProcessGroup.StartAsync(loggers: log, configure: options => options.JoinTimeout = TimeSpan.FromSeconds(1));
        await group.Members[0].Subgroup<Register>().Ordered.Set(1);

        // Member 1 (not the leader) gets the request and posts it; the leader proposes a view with the joiner.
        var ghost = new VanishingJoiner(7, InProcessGroup.Options(0, group.Ports));
        ghost.AskToJoin(1, new IPEndPoint(IPAddress.Loopback, group.Ports[1]));
        await Eventually.True(() => log.Contains(LogLevel.Information, "adds [7]"), "the leader to propose a view with member 7");
        if (exits) await ghost.DisposeAsync();
        else await Eventually.True(() => ghost.Proposals > 0, "the joiner to receive the proposal");

        // The group leaves the wedge without it and takes ordered calls again, within a bound.
        var call = Task.Run(() => group.Members[2].Subgroup<Register>().Ordered.Set(2));
        var results = await call.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([0, 1, 2], results.Select(r => r.MemberId).Order());
        Assert.True(log.Contains(LogLevel.Warning, "drops joiner 7"), "the leader says which joiner it dropped and why");
        Assert.All(group.Members, m => Assert.Equal([0, 1, 2], m.View.Members));

        // Nobody forwards the dead request again: no further view change proposes it.
        var view = group.Members[0].View.Id;
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.All(group.Members, m => Assert.Equal(view, m.View.Id));
        Assert.All(group.Members, m => Assert.False(m.IsChangingView));
        Assert.Single(log.Entries, e => e.Message.Contains("adds [7]", StringComparison.Ordinal));

        // A genuine joiner still gets in and takes part.
        var joiner = await group.JoinNewMemberAsync(4, log);
        Assert.Equal([0, 1, 2, 4], joiner.View.Members);
        var four = await joiner.Subgroup<Register>().Ordered.Set(3);
        Assert.Equal([0, 1, 2, 4], four.Select(r => r.MemberId).Order());
        await Task.WhenAll(group.Members.Append(joiner).Select(m => m.ShutdownAsync()));
        if (!exits) await ghost.DisposeAsync();
    }

    /// <summary>
    /// The fault suite's kill-joiner finding: a joiner killed after the proposal reached it leaves every member a
    /// connection to the dead process. A later incarnation of the same id (at the same endpoint, or a new one)
    /// asked to join, was proposed every few seconds and never got the proposal, because the members kept
    /// sending to the dead connection. It must get in, like a joiner with a fresh id.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_later_incarnation_of_a_vanished_joiner_gets_in(bool sameEndpoint)
    {
        var log = new CapturingLoggerProvider();
        var group = await InProcessGroup.StartAsync(loggers: log, configure: options => options.JoinTimeout = TimeSpan.FromSeconds(1));
        await group.Members[0].Subgroup<Register>().Ordered.Set(1);

        var ghost = new VanishingJoiner(7, InProcessGroup.Options(0, group.Ports));
        ghost.AskToJoin(1, new IPEndPoint(IPAddress.Loopback, group.Ports[1]));
        await Eventually.True(() => ghost.Proposals > 0, "the first incarnation of member 7 to receive the proposal");
        var port = ghost.Endpoint.Port;
        await ghost.DisposeAsync(); // killed before it acknowledged
        await Eventually.True(() => log.Contains(LogLevel.Warning, "drops joiner 7"), "the leader to drop the vanished joiner");

        var joiner = await group.JoinNewMemberAsync(7, log, port: sameEndpoint ? port : null,
            configure: options => options.JoinTimeout = TimeSpan.FromSeconds(1)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([0, 1, 2, 7], joiner.View.Members);
        var replies = await joiner.Subgroup<Register>().Ordered.Set(2).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([0, 1, 2, 7], replies.Select(r => r.MemberId).Order());
        await Task.WhenAll(group.Members.Append(joiner).Select(m => m.ShutdownAsync()));
    }
}
