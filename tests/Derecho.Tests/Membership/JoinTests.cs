using Derecho.Tests.Support;

namespace Derecho.Tests.Membership;

/// <summary>A process joins a running group under load, receives the state, and ends identical to the others.</summary>
public class JoinTests
{
    [Fact]
    public async Task Joiner_added_under_load_ends_with_the_same_state()
    {
        var log = new CapturingLoggerProvider();
        var group = await InProcessGroup.StartAsync(loggers: log);
        using var stop = new CancellationTokenSource();
        var senders = group.Members.Select(m => Task.Run(async () =>
        {
            var register = m.Subgroup<Register>();
            var i = 0;
            for (; !stop.IsCancellationRequested; i++) await register.Ordered.Set(m.MyId * 1_000_000 + i);
            return i;
        })).ToArray();
        await group.Members[0].Subgroup<Register>().Ordered.Set(-1); // applied before the joiner exists

        var joined = new TaskCompletionSource<IReadOnlyList<int>>(TaskCreationOptions.RunContinuationsAsynchronously);
        group.Members[0].ViewChanged += (_, added, _) => joined.TrySetResult(added);
        var joiner = await group.JoinNewMemberAsync(3, log);
        Assert.Equal([0, 1, 2, 3], joiner.View.Members);
        Assert.Equal([3], await joined.Task.WaitAsync(TimeSpan.FromSeconds(60)));

        // The joiner takes part at once: its calls are answered by all four replicas.
        var results = await joiner.Subgroup<Register>().Ordered.Set(3_000_000);
        Assert.True(results.Select(r => r.MemberId).SequenceEqual([0, 1, 2, 3]),
            $"replies from {string.Join(",", results.Select(r => r.MemberId))}\n{string.Join("\n", log.Entries.Select(e => e.Message))}");
        Assert.Single(results.Select(r => r.Value).Distinct());
        await Task.Delay(200);
        stop.Cancel();
        await Task.WhenAll(senders);

        // Every sender's last call was answered by every replica, so every replica has applied everything:
        // the complete histories must be equal, the joiner's included (it starts with the transferred state).
        var everyone = group.Members.Append(joiner).ToArray();
        var histories = await Task.WhenAll(everyone.Select(m => m.Subgroup<Register>().On(m.MyId).History()));
        await Task.WhenAll(everyone.Select(m => m.ShutdownAsync()));
        Assert.All(histories, h => Assert.Equal(histories[0], h));
        Assert.Contains(3_000_000L, histories[3]);
        Assert.Contains(-1L, histories[3]); // only state transfer can have brought this to the joiner
    }
}
