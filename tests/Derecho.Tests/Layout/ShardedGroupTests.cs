using Derecho.Client;
using Derecho.Hosting;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Replication;
using Derecho.Rpc;
using Derecho.Tests.Support;

namespace Derecho.Tests.Layout;

/// <summary>
/// Sharded subgroups in one process over real loopback sockets: 5 members, Register as 2 shards x 2
/// ([0,1] and [2,3]) and Notes on one shard of up to 3 ([0,1,2]); member 4 holds nothing.
/// </summary>
public sealed class ShardedGroupTests
{
    private static void Layout(LayoutBuilder layout) => layout
        .Subgroup(_ => new Register(), ShardPolicy.Fixed(2, 2))
        .Subgroup(_ => new Notes(), new ShardPolicy { MaxReplicas = 3 });

    [Fact]
    public async Task Each_shard_orders_its_own_calls_and_any_member_can_reach_any_shard()
    {
        await using var group = await InProcessGroup.StartAsync(5, layout: Layout);
        var register = group.Members[4].Subgroup<Register>();
        Assert.Equal(2, register.ShardCount);
        Assert.Equal([0, 1], register.Shard(0).Members);
        Assert.Equal([2, 3], register.Shard(1).Members);

        // Member 4 is in no shard: its ordered calls are relayed by a shard member; every replica of that shard replies.
        for (var i = 1; i <= 20; i++)
        {
            Assert.Equal([0, 1], (await register.Shard(0).Ordered.Set(i)).Select(r => r.MemberId));
            Assert.Equal([2, 3], (await register.Shard(1).Ordered.Set(100 + i)).Select(r => r.MemberId));
        }
        // Members of one shard call the other shard too; P2P reaches members of any shard.
        await group.Members[0].Subgroup<Register>().Shard(1).Ordered.Set(121);
        Assert.Equal(20, await register.Shard(0).On(1).Get());
        Assert.Equal(121, await group.Members[1].Subgroup<Register>().On(3).Get());

        // Shard histories are independent: each replica of a shard applied exactly its shard's calls, in one order.
        var shard0 = await register.Shard(0).On(0).History();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), shard0);
        Assert.Equal(shard0, await register.Shard(0).On(1).History());
        var shard1 = await register.Shard(1).On(2).History();
        Assert.Equal(Enumerable.Range(101, 20).Select(i => (long)i).Append(121), shard1);
        Assert.Equal(shard1, await register.Shard(1).On(3).History());

        // Members 0, 1 and 2 hold both subgroups: the Notes stream is delivered beside their Register shard.
        var notes = group.Members[2].Subgroup<Notes>();
        Assert.Equal([0, 1, 2], notes.Members);
        var appended = await notes.Ordered.Append("overlap");
        Assert.Equal([0, 1, 2], appended.Select(r => r.MemberId));
        Assert.All(appended, r => Assert.Equal(1, r.Value));
    }

    [Fact]
    public async Task Calls_from_a_member_outside_the_shard_are_applied_in_the_order_it_made_them()
    {
        await using var group = await InProcessGroup.StartAsync(5, layout: Layout);
        var notes = group.Members[4].Subgroup<Notes>();
        Assert.DoesNotContain(4, notes.Members);

        // Not awaited one by one: all are in flight together, relayed by members of the shard.
        var appended = await Task.WhenAll(Enumerable.Range(1, 60).Select(i => notes.Ordered.Append($"note {i}")));

        for (var i = 0; i < appended.Length; i++)
            Assert.All(appended[i], r => Assert.Equal(i + 1, r.Value)); // call i is note i at every replica
    }

    [Fact]
    public async Task Keys_route_to_stable_shards_and_bad_targets_get_clear_errors()
    {
        await using var group = await InProcessGroup.StartAsync(5, layout: Layout);
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var register = client.Subgroup<Register>();

        // The same key always lands in the same shard, for members and clients alike.
        Assert.Equal(ShardKey.ShardOf("alice", 2), register.ShardFor("alice").Index);
        Assert.Equal(group.Members[3].Subgroup<Register>().ShardFor("alice").Index, register.ShardFor("alice").Index);
        var replies = await register.ShardFor("alice").Ordered.Set(7);
        Assert.Equal(register.ShardFor("alice").Members, replies.Select(r => r.MemberId));

        // Unsharded access to a sharded subgroup, a shard that does not exist, a type the group does not host.
        var unsharded = Assert.Throws<InvalidOperationException>(() => register.Ordered);
        Assert.Contains("has 2 shards", unsharded.Message);
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => register.Shard(2));
        Assert.Contains("there is no shard 2", missing.Message);
        Assert.Throws<InvalidOperationException>(() => group.Members[0].Subgroup<Counterless>());
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => client.Subgroup<Counterless>().On(0).Ping());
        Assert.Contains("holds no shard", unknown.Message);
        // A P2P call to a member for a shard it does not hold is refused by that member.
        var wrongMember = await Assert.ThrowsAsync<RemoteCallException>(() => register.Shard(1).On(0).Get());
        Assert.Contains("holds no replica of shard 1", wrongMember.Message);

        // An oversized request is refused with the limit named; the group goes on.
        var oversized = await Assert.ThrowsAsync<ArgumentException>(() => client.Subgroup<Notes>().Ordered.Append(new string('x', 80 << 10)));
        Assert.Contains("exceeds MaxPayloadBytes", oversized.Message);
        Assert.Equal(2, (await register.Shard(0).Ordered.Set(8)).Count);
    }

    [Fact]
    public async Task A_crash_that_leaves_a_shard_short_moves_one_member_over_and_it_gets_the_state()
    {
        // Shards of 2 to 3: [0,1,4] and [2,3]. When 2 crashes, shard 1 is short and takes member 4 (the
        // highest-ranked of the fuller shard): 4 must load shard 1's state before delivering anything of it.
        static void Elastic(LayoutBuilder l) => l.Subgroup(_ => new Register(), new ShardPolicy { Shards = 2, MinReplicas = 2, MaxReplicas = 3 });
        var logs = new CapturingLoggerProvider();
        var group = await InProcessGroup.StartAsync(5, logs, Elastic);
        var members = group.Members;
        try
        {
            Assert.Equal([0, 1, 4], members[0].Subgroup<Register>().Shard(0).Members);
            Assert.Equal([2, 3], members[0].Subgroup<Register>().Shard(1).Members);
            var shard1Before = new List<long>();
            for (var i = 1; i <= 30; i++)
            {
                await members[3].Subgroup<Register>().Shard(1).Ordered.Set(1000 + i);
                shard1Before.Add(1000 + i);
                await members[0].Subgroup<Register>().Shard(0).Ordered.Set(i);
            }
            // Load on both shards while member 2 crashes.
            var load0 = Task.Run(async () => { for (var i = 31; i <= 200; i++) await members[1].Subgroup<Register>().Shard(0).Ordered.Set(i); });
            var load1 = Task.Run(async () =>
            {
                var sent = new List<long>();
                for (var i = 31; i <= 200; i++)
                {
                    await members[3].Subgroup<Register>().Shard(1).Ordered.Set(1000 + i);
                    sent.Add(1000 + i);
                }
                return sent;
            });
            await Task.Delay(20);
            await members[2].DisposeAsync();
            var loads = Task.WhenAll(load0, load1);
            if (await Task.WhenAny(loads, Task.Delay(TimeSpan.FromSeconds(60))) != loads)
                Assert.Fail($"load did not complete (shard 0 done: {load0.IsCompleted}, shard 1 done: {load1.IsCompleted}):\n{string.Join('\n', logs.Entries.Select(e => e.Message))}");
            await loads;

            var layout = members[0].Layout;
            Assert.Equal([0, 1], layout.Subgroups[0].Shards[0]);
            Assert.Equal([3, 4], layout.Subgroups[0].Shards[1]);
            // Member 4 holds shard 1's whole history (transferred state + what it delivered since), identical to member 3's.
            var register = members[0].Subgroup<Register>();
            var at3 = await register.Shard(1).On(3).History();
            var at4 = await register.Shard(1).On(4).History();
            Assert.Equal(at3, at4);
            Assert.Equal(shard1Before.Concat(await load1), at3);
            Assert.Equal(await register.Shard(0).On(0).History(), await register.Shard(0).On(1).History());
            Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), (await register.Shard(0).On(0).History()).Order());
        }
        finally
        {
            await Task.WhenAll(members.Where(m => m.MyId != 2).Select(m => m.ShutdownAsync()));
        }
    }

    [Fact]
    public async Task When_the_state_sender_fails_before_sending_the_next_view_sends_it_from_another_holder()
    {
        // Shards of exactly 3 over 8 members: [0,1,2] and [3,4,5]; 6 and 7 are free. Member 3 crashes: 6 fills
        // shard 1 and member 4 (its first holder) owes it the state but withholds it, as if it crashed before
        // sending; then 4 crashes. The next view puts member 7 into shard 1; member 5, the remaining holder,
        // sends the state to both 6 (still lacking it) and 7. Nothing any replica applied is lost or doubled.
        static void Exact(LayoutBuilder l) => l.Subgroup(_ => new Register(), ShardPolicy.Fixed(2, 3));
        var logs = new CapturingLoggerProvider();
        var group = await InProcessGroup.StartAsync(8, logs, Exact);
        var members = group.Members;
        try
        {
            var register = members[0].Subgroup<Register>();
            Assert.Equal([3, 4, 5], register.Shard(1).Members);
            for (var i = 1; i <= 20; i++) await register.Shard(1).Ordered.Set(i);

            members[4].WithholdShardStatesForTest = true;
            await members[3].DisposeAsync();
            await Eventually.True(() => members[0].View.Id == 1 && members[5].View.Id == 1, "view 1 without member 3");
            Assert.Equal([4, 5, 6], members[0].Layout.Subgroups[0].Shards[1]);
            await Eventually.True(() => logs.Contains(Microsoft.Extensions.Logging.LogLevel.Information, "Member 6 lacks the state of shard 1"), "member 6 to wait for the state");
            // Calls into shard 1 now wait for member 6, which cannot deliver without the state.
            var waiting = members[5].Subgroup<Register>().Shard(1).Ordered.Set(21);
            await Task.Delay(300);
            Assert.False(waiting.IsCompleted);
            var readError = await Assert.ThrowsAsync<RemoteCallException>(() => register.Shard(1).On(6).Get());
            Assert.Contains("still loading the state", readError.Message);

            await members[4].DisposeAsync();
            var replies = await waiting.WaitAsync(TimeSpan.FromSeconds(60));
            await Eventually.True(() => members[0].Layout.Subgroups[0].Shards[1].SequenceEqual([5, 6, 7]), "member 7 to fill shard 1");
            Assert.All(replies, r => Assert.Equal(21, r.Value));
            await register.Shard(1).Ordered.Set(22);
            var histories = new List<List<long>>();
            foreach (var id in new[] { 5, 6, 7 }) histories.Add(await register.Shard(1).On(id).History());
            // Every replica's history: the state it was given plus what it delivered since, the same everywhere.
            Assert.All(histories, h => Assert.Equal(histories[0], h));
            Assert.Equal(Enumerable.Range(1, 22).Select(i => (long)i), histories[0]);
        }
        finally
        {
            await Task.WhenAll(members.Where(m => m.MyId is not (3 or 4)).Select(m => m.ShutdownAsync()));
        }
    }

    [Fact]
    public async Task A_view_without_enough_members_for_the_layout_waits_for_joiners()
    {
        var logs = new CapturingLoggerProvider(); // it is its own logger factory
        // Register needs 2 shards of 2: three members are not enough.
        static void NeedsFour(LayoutBuilder l) => l.Subgroup(_ => new Register(), ShardPolicy.Fixed(2, 2));
        var ports = Ports.Free(3);
        var members = await Task.WhenAll(Enumerable.Range(0, 3).Select(id => DerechoGroup.JoinAsync(InProcessGroup.Options(id, ports), NeedsFour, logs)));
        try
        {
            Assert.False(members[0].Layout.IsAdequate);
            Assert.True(logs.Contains(Microsoft.Extensions.Logging.LogLevel.Warning, "has 1 of its minimum 2 members; no shard runs until enough members join"));
            var waiting = members[0].Subgroup<Register>().Shard(0).Ordered.Set(1);
            await Task.Delay(500);
            Assert.False(waiting.IsCompleted, "nothing runs in an inadequate view");

            var joinerOptions = InProcessGroup.Options(3, ports);
            joinerOptions.Members.Add(new MemberOptions { Id = 3, Endpoint = $"127.0.0.1:{Ports.Free(1)[0]}" });
            joinerOptions.Join = true;
            var joining = DerechoGroup.JoinAsync(joinerOptions, NeedsFour, logs);
            if (await Task.WhenAny(joining, Task.Delay(TimeSpan.FromSeconds(30))) != joining)
                Assert.Fail("join did not complete:\n" + string.Join('\n', logs.Entries.Select(e => e.Message)));
            var joiner = await joining;
            members = [.. members, joiner];
            Assert.True(joiner.Layout.IsAdequate);
            var replies = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(2, replies.Count);
        }
        finally
        {
            await Task.WhenAll(members.Select(m => m.ShutdownAsync()));
        }
    }
}

/// <summary>A second replicated type for overlapping subgroups; [MemoryPackable] for state transfer.</summary>
[Replicated]
[MemoryPack.MemoryPackable]
public partial class Notes
{
    [MemoryPack.MemoryPackInclude] private List<string> _notes = new();

    [Ordered]
    public int Append(string note)
    {
        _notes.Add(note);
        return _notes.Count;
    }
}

/// <summary>A replicated type no test group hosts.</summary>
[Replicated]
public partial class Counterless
{
    [P2PCallable]
    public int Ping() => 1;
}
