using Derecho.Hosting;
using Derecho.Tests.Support;

namespace Derecho.Tests.Membership;

/// <summary>View changes among in-process members (a member "crashes" by closing its sockets without leaving).</summary>
public class ViewChangeTests
{
    [Fact]
    public async Task Crash_under_load_installs_the_same_view_at_survivors_with_identical_histories()
    {
        var group = await InProcessGroup.StartAsync();
        var survivors = group.Members.Take(2).ToArray();
        var victim = group.Members[2];
        var installed = survivors.Select(_ => new TaskCompletionSource<Derecho.Membership.View>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        for (var i = 0; i < survivors.Length; i++)
        {
            var done = installed[i];
            survivors[i].ViewChanged += (view, _, _) => done.TrySetResult(view);
        }

        // Everyone sends as fast as it can; the victim dies in the middle of it.
        using var stop = new CancellationTokenSource();
        var senders = survivors.Select(m => Task.Run(async () =>
        {
            var register = m.Subgroup<Register>();
            var acknowledged = 0;
            for (var i = 0; !stop.IsCancellationRequested || i < 50; i++)
            {
                var results = await register.Ordered.Set(m.MyId * 1_000_000 + i);
                Assert.True(results.Count >= 2, "every survivor replied");
                acknowledged++;
                if (i > 2000) break;
            }
            return acknowledged;
        })).ToArray();
        var victimSender = Task.Run(async () =>
        {
            try { for (var i = 0; ; i++) await victim.Subgroup<Register>().Ordered.Set(2_000_000 + i); }
            catch (Exception) { /* it is being killed */ }
        });
        await Task.Delay(300);
        await victim.DisposeAsync();

        var views = await Task.WhenAll(installed.Select(t => t.Task.WaitAsync(TimeSpan.FromSeconds(60))));
        Assert.All(views, v => Assert.Equal([0, 1], v.Members));
        Assert.All(views, v => Assert.Equal(1, v.Id));
        stop.Cancel();
        var counts = await Task.WhenAll(senders);
        Assert.All(counts, c => Assert.True(c >= 50, $"{c} calls acknowledged"));

        // After the last call every survivor has applied the same sequence: nothing lost, duplicated or reordered.
        var histories = await Task.WhenAll(survivors.Select(m => m.Subgroup<Register>().On(m.MyId).History()));
        Assert.Equal(histories[0], histories[1]);
        Assert.Equal(histories[0].Count, histories[0].Distinct().Count());
        foreach (var sender in new[] { 0, 1 })
        {
            var own = histories[0].Where(v => v / 1_000_000 == sender).ToList();
            Assert.Equal(Enumerable.Range(0, own.Count).Select(i => (long)(sender * 1_000_000 + i)), own);
        }
        var victimValues = histories[0].Where(v => v / 1_000_000 == 2).ToList();
        Assert.Equal(Enumerable.Range(0, victimValues.Count).Select(i => (long)(2_000_000 + i)), victimValues);

        // Calls continue in the new view, answered by both survivors.
        var after = await survivors[0].Subgroup<Register>().Ordered.Set(42);
        Assert.Equal([0, 1], after.Select(r => r.MemberId));
        await Task.WhenAll(survivors.Select(m => m.ShutdownAsync()));
    }

    [Fact]
    public async Task Graceful_leave_is_a_view_change_without_a_timeout()
    {
        var log = new CapturingLoggerProvider();
        var group = await InProcessGroup.StartAsync(loggers: log);
        var stayers = group.Members.Take(2).ToArray();
        var installed = new TaskCompletionSource<Derecho.Membership.View>(TaskCreationOptions.RunContinuationsAsynchronously);
        stayers[0].ViewChanged += (view, _, _) => installed.TrySetResult(view);
        foreach (var m in group.Members) await m.Subgroup<Register>().Ordered.Set(m.MyId);

        await group.Members[2].LeaveAsync();
        var view = await installed.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal([0, 1], view.Members);
        Assert.True(log.Contains(Microsoft.Extensions.Logging.LogLevel.Warning, "it is leaving the group"), "the others saw a leave, not a failure");
        Assert.False(log.Contains(Microsoft.Extensions.Logging.LogLevel.Warning, "no heartbeat"), "no timeout was involved");
        Assert.DoesNotContain(stayers, m => m.Failed.IsCompleted);

        var results = await stayers[1].Subgroup<Register>().Ordered.Set(99);
        Assert.Equal([0, 1], results.Select(r => r.MemberId));
        var histories = await Task.WhenAll(stayers.Select(m => m.Subgroup<Register>().On(m.MyId).History()));
        Assert.Equal(histories[0], histories[1]);
        Assert.Equal([0L, 1, 2, 99], histories[0].Order());
        await Task.WhenAll(stayers.Select(m => m.ShutdownAsync()));
    }

    [Fact]
    public async Task Member_cut_off_from_the_majority_stops_with_a_clear_reason()
    {
        var group = await InProcessGroup.StartAsync();
        var lonely = group.Members[0];
        // Both others vanish: member 0 alone is not a majority of 3.
        await group.Members[1].DisposeAsync();
        await group.Members[2].DisposeAsync();
        var reason = (await lonely.Failed.WaitAsync(TimeSpan.FromSeconds(60))).Reason;
        Assert.Contains("fewer than a majority of 2", reason);
        var error = await Assert.ThrowsAsync<Derecho.Errors.MemberStoppedException>(() => lonely.Subgroup<Register>().Ordered.Set(1));
        Assert.Contains("stopped", error.Message);
        await lonely.DisposeAsync();
    }
}
