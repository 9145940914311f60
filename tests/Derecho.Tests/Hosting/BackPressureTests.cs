using System.Collections.Concurrent;
using System.Diagnostics;
using Derecho.Rpc;
using Derecho.Tests.Support;

namespace Derecho.Tests.Hosting;

/// <summary>
/// Ordered calls made while the ring is full or the view is changing: the calling thread returns at once with a
/// pending task, and the calls go out later in the order they were made.
/// </summary>
public class BackPressureTests
{
    private static readonly TimeSpan CallingThreadLimit = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Calls_into_a_full_ring_return_at_once_and_complete_in_order_once_it_drains()
    {
        var replicas = new ConcurrentDictionary<int, Turnstile>();
        await using var group = await InProcessGroup.StartAsync(layout: l => l.Subgroup(c => replicas[c.MyId] = new Turnstile()), configure: o =>
        {
            // Room for a few dozen calls per ring; nobody is suspected while the protocol threads are held.
            o.RingBytes = 4096;
            o.MaxPayloadBytes = 1024;
            o.FailureTimeout = TimeSpan.FromSeconds(60);
        });
        var turnstile = group.Members[0].Subgroup<Turnstile>();
        Task<QueryResults<long>>[] calls;
        foreach (var replica in replicas.Values) replica.Gate.Reset();
        try
        {
            _ = turnstile.Ordered.Hold(60_000);
            // The others wait for the first member inside Hold (it pushes its row after the handler), so no ring space is freed.
            await Eventually.True(() => replicas.Values.Any(r => r.Holding == 1), "a member is inside Hold");

            // These are far more calls than the ring holds.
            (calls, var slowest) = await OnOwnThread(() => Timed(500, i => turnstile.Ordered.Add(i)));
            Assert.True(slowest < TimeSpan.FromSeconds(1), $"one call held its thread for {slowest.TotalMilliseconds:0} ms");
            Assert.DoesNotContain(calls, c => c.IsCompleted);
        }
        finally
        {
            foreach (var replica in replicas.Values) replica.Gate.Set();
        }

        var results = await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(60));
        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal([0, 1, 2], results[i].Select(r => r.MemberId));
            Assert.All(results[i], r => Assert.Equal(i + 1, r.Value)); // applied as call i at every replica
        }
        foreach (var member in group.Members)
            Assert.Equal(Enumerable.Range(0, 500).Select(i => (long)i), await turnstile.On(member.MyId).History());
    }

    [Fact]
    public async Task Calls_during_a_view_change_return_at_once_and_go_into_the_next_view_in_order()
    {
        var replicas = new ConcurrentDictionary<int, Turnstile>();
        var group = await InProcessGroup.StartAsync(layout: l => l.Subgroup(c => replicas[c.MyId] = new Turnstile()),
            configure: o => o.FailureTimeout = TimeSpan.FromSeconds(60));
        var (caller, slow, victim) = (group.Members[0], group.Members[1], group.Members[2]);
        var turnstile = caller.Subgroup<Turnstile>();
        Task<QueryResults<long>>[] calls;
        replicas[slow.MyId].Gate.Reset();
        try
        {
            _ = turnstile.Ordered.Hold(60_000);
            await Eventually.True(() => replicas[slow.MyId].Holding == 1, "member 1 is inside Hold");
            // Member 2 crashes: member 0 wedges at once, but the view change waits for member 1, whose protocol thread is busy.
            await victim.DisposeAsync();
            await Eventually.True(() => caller.IsChangingView, "member 0 wedged view 0");

            (calls, var slowest) = await OnOwnThread(() => Timed(20, i => turnstile.Ordered.Add(i)));
            Assert.True(slowest < TimeSpan.FromSeconds(1), $"one call held its thread for {slowest.TotalMilliseconds:0} ms");
            Assert.DoesNotContain(calls, c => c.IsCompleted);
            Assert.Equal(0, caller.View.Id);
        }
        finally
        {
            replicas[slow.MyId].Gate.Set();
        }

        var results = await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, caller.View.Id);
        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal([0, 1], results[i].Select(r => r.MemberId));
            Assert.All(results[i], r => Assert.Equal(i + 1, r.Value));
        }
        foreach (var member in new[] { caller, slow })
            Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), await turnstile.On(member.MyId).History());
        await Task.WhenAll(caller.ShutdownAsync(), slow.ShutdownAsync());
    }

    /// <summary>Makes <paramref name="count"/> calls; returns them and the longest any one kept the thread.</summary>
    private static (T[] Calls, TimeSpan Slowest) Timed<T>(int count, Func<int, T> call)
    {
        var calls = new T[count];
        var slowest = TimeSpan.Zero;
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            calls[i] = call(i);
            var took = Stopwatch.GetElapsedTime(started);
            if (took > slowest) slowest = took;
        }
        return (calls, slowest);
    }

    /// <summary>Runs <paramref name="work"/> on a thread of its own; fails if that thread is still busy after the limit.</summary>
    private static async Task<T> OnOwnThread<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try { done.SetResult(work()); }
            catch (Exception e) { done.SetException(e); }
        })
        { IsBackground = true, Name = "test-caller" };
        thread.Start();
        var finished = await Task.WhenAny(done.Task, Task.Delay(CallingThreadLimit));
        Assert.True(finished == done.Task, $"the calling thread was still inside the calls after {CallingThreadLimit.TotalSeconds:0} s");
        return await done.Task;
    }
}
