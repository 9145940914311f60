using System.Collections.Concurrent;
using Derecho.Tests.Support;

namespace Derecho.Tests.Membership;

/// <summary>The failure detector watches members, not their application handlers.</summary>
public class SlowHandlerTests
{
    [Fact]
    public async Task A_handler_busy_for_longer_than_the_failure_timeout_does_not_get_its_member_removed()
    {
        var replicas = new ConcurrentDictionary<int, Turnstile>();
        await using var group = await InProcessGroup.StartAsync(layout: l => l.Subgroup(c => replicas[c.MyId] = new Turnstile()), configure: o =>
        {
            // Long enough that a start under a loaded suite (2 cores, groups starting at once) is not a failure.
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
            o.FailureTimeout = TimeSpan.FromMilliseconds(1000);
        });
        var viewChanges = 0;
        foreach (var member in group.Members) member.ViewChanged += (_, _, _) => Interlocked.Increment(ref viewChanges);
        foreach (var replica in replicas.Values) replica.Gate.Reset(); // Hold waits its full time

        // Every member's protocol thread spends 4 s in this handler, four times the failure timeout.
        var slow = group.Members[0].Subgroup<Turnstile>().Ordered.Hold(4000);
        var after = group.Members.Select(m => m.Subgroup<Turnstile>().Ordered.Add(m.MyId)).ToArray();

        var held = await slow.WaitAsync(TimeSpan.FromSeconds(30));
        var added = await Task.WhenAll(after).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([0, 1, 2], held.MemberIds);
        Assert.All(added, replies => Assert.Equal([0, 1, 2], replies.Select(r => r.MemberId)));
        Assert.All(group.Members, m =>
        {
            Assert.Equal(0, m.View.Id);
            Assert.Equal([0, 1, 2], m.View.Members);
            Assert.False(m.Failed.IsCompleted, m.Failed.IsCompleted ? m.Failed.Result.Reason : "");
        });
        Assert.Equal(0, viewChanges);
    }
}
