using Derecho.Hosting;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Replication;
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

    [Fact]
    public async Task Joiner_receives_the_latest_version_of_persistent_fields()
    {
        var data = Directory.CreateTempSubdirectory("derecho-join-persistent-");
        try
        {
            var ports = Ports.Free(4);
            Derecho.Hosting.DerechoOptions Options(int id, bool join)
            {
                var options = InProcessGroup.Options(id, join ? ports : ports[..3]);
                options.DataDirectory = data.FullName;
                options.Join = join;
                return options;
            }
            var members = await Task.WhenAll(Enumerable.Range(0, 3).Select(id =>
                Derecho.Hosting.DerechoGroup.JoinAsync(Options(id, false), layout => layout.Subgroup(context => new Journal(context)))));
            await Task.WhenAll(members.SelectMany(m => Enumerable.Range(1, 100).Select(i => m.Subgroup<Journal>().Ordered.Add(i))));

            var joiner = await Derecho.Hosting.DerechoGroup.JoinAsync(Options(3, true), layout => layout.Subgroup(context => new Journal(context)));
            var results = await joiner.Subgroup<Journal>().Ordered.Add(1000);
            // Every replica, the joiner included, computes the same new total from the same state.
            Assert.Equal(4, results.Count);
            Assert.Single(results.Select(r => r.Value).Distinct());
            Assert.Equal(3 * 5050 + 1000, results[0].Value);
            await Task.WhenAll(members.Append(joiner).Select(m => m.ShutdownAsync()));
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Joiner_whose_type_cannot_transfer_its_state_is_refused_and_the_group_goes_on()
    {
        static void Layout(LayoutBuilder layout) => layout.Subgroup(_ => new Unsendable());
        var log = new CapturingLoggerProvider();
        await using var group = await InProcessGroup.StartAsync(loggers: log, layout: Layout);
        Assert.Equal(3, (await group.Members[0].Subgroup<Unsendable>().Ordered.Add(1)).Count);

        var options = InProcessGroup.Options(3, group.Ports);
        options.Members.Add(new MemberOptions { Id = 3, Endpoint = $"127.0.0.1:{Ports.Free(1)[0]}" });
        options.Join = true;
        options.ConnectTimeout = TimeSpan.FromSeconds(15);
        var error = await Assert.ThrowsAsync<Derecho.Errors.JoinRefusedException>(() => DerechoGroup.JoinAsync(options, Layout, log));
        Assert.Contains(typeof(Unsendable).FullName!, error.Message);
        Assert.Contains("[MemoryPackable]", error.Message);
        Assert.Contains("IReplicaState", error.Message);

        // The members never admitted it: same view, nobody stopped, ordered calls answered by all three.
        for (var i = 0; i < 6; i++)
        {
            var results = await group.Members[i % 3].Subgroup<Unsendable>().Ordered.Add(1);
            Assert.Equal([0, 1, 2], results.Select(r => r.MemberId));
            Assert.Single(results.Select(r => r.Value).Distinct());
        }
        Assert.DoesNotContain(group.Members, m => m.Failed.IsCompleted);
        Assert.All(group.Members, m => Assert.Equal(0, m.View.Id));
    }
}
