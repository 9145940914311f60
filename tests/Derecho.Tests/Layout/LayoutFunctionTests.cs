using Derecho.Layout;
using Derecho.Membership;

namespace Derecho.Tests.Layout;

/// <summary>The layout function: deterministic, every policy, inadequate views, fewest moves on a view change.</summary>
public sealed class LayoutFunctionTests
{
    private const uint Kv = 0xA1, Counter = 0xB2;

    private static SubgroupSpec Spec(uint type, ShardPolicy policy) => new(type, $"T{type:X}", policy);

    private static GroupLayout Compute(int[] members, GroupLayout? previous, params SubgroupSpec[] specs) =>
        LayoutFunction.Compute(members, specs, previous);

    [Fact]
    public void The_same_view_always_gives_the_same_layout()
    {
        var specs = new[] { Spec(Kv, new ShardPolicy { Shards = 3, MinReplicas = 1, MaxReplicas = 3, Pinned = new Dictionary<int, int[]> { [2] = [7], [0] = [3] } }), Spec(Counter, new ShardPolicy()) };
        var members = new[] { 4, 9, 3, 7, 1, 8, 2 };
        var first = LayoutFunction.Compute(members, specs, null).Serialize();
        for (var i = 0; i < 20; i++)
            Assert.Equal(first, LayoutFunction.Compute(members, specs, null).Serialize());
    }

    [Fact]
    public void Fixed_shards_take_members_in_rank_order()
    {
        var layout = Compute([10, 11, 12, 13, 14, 15], null, Spec(Kv, ShardPolicy.Fixed(2, 3)));
        Assert.True(layout.IsAdequate);
        Assert.Equal([[10, 11, 12], [13, 14, 15]], layout.Subgroups[0].Shards);
    }

    [Fact]
    public void Too_few_members_make_the_view_inadequate_and_say_which_shard()
    {
        var layout = Compute([0, 1, 2, 3, 4], null, Spec(Kv, ShardPolicy.Fixed(2, 3)));
        Assert.False(layout.IsAdequate);
        Assert.Contains("shard 1 of TA1 has 2 of its minimum 3 members", layout.Inadequate);
    }

    [Fact]
    public void Minimums_are_met_before_extra_members_fill_shards_up_to_the_maximum()
    {
        var layout = Compute([0, 1, 2, 3, 4], null, Spec(Kv, new ShardPolicy { Shards = 2, MinReplicas = 2, MaxReplicas = 3 }));
        Assert.True(layout.IsAdequate);
        Assert.Equal([[0, 1, 4], [2, 3]], layout.Subgroups[0].Shards);

        var crowded = Compute([0, 1, 2, 3, 4, 5, 6, 7], null, Spec(Kv, new ShardPolicy { Shards = 2, MinReplicas = 2, MaxReplicas = 3 }));
        Assert.All(crowded.Subgroups[0].Shards, s => Assert.Equal(3, s.Length));
    }

    [Fact]
    public void Subgroups_are_laid_out_independently_so_they_overlap()
    {
        var layout = Compute([0, 1, 2, 3, 4, 5], null, Spec(Counter, ShardPolicy.Fixed(1, 3)), Spec(Kv, ShardPolicy.Fixed(2, 3)));
        Assert.Equal([[0, 1, 2]], layout.Subgroups[0].Shards);
        Assert.Equal([[0, 1, 2], [3, 4, 5]], layout.Subgroups[1].Shards);
        Assert.Equal(3, layout.ShardCount);
        Assert.Equal(2, layout.GlobalIndex(1, 1));
    }

    [Fact]
    public void Pinned_members_stay_in_their_shards_and_one_member_may_hold_several()
    {
        var policy = new ShardPolicy { Shards = 2, MinReplicas = 2, MaxReplicas = 3, Pinned = new Dictionary<int, int[]> { [0] = [5], [1] = [5, 0] } };
        var layout = Compute([0, 1, 2, 3, 4, 5], null, Spec(Kv, policy));
        Assert.Contains(5, layout.Subgroups[0].Shards[0]);
        Assert.Contains(5, layout.Subgroups[0].Shards[1]);
        Assert.Contains(0, layout.Subgroups[0].Shards[1]);
        Assert.DoesNotContain(0, layout.Subgroups[0].Shards[0]);
        Assert.Equal([0, 1], layout.Subgroups[0].ShardsOf(5));
    }

    [Fact]
    public void Members_restriction_keeps_others_out()
    {
        var layout = Compute([0, 1, 2, 3], null, Spec(Kv, new ShardPolicy { Members = [1, 3] }));
        Assert.Equal([[1, 3]], layout.Subgroups[0].Shards);
    }

    [Fact]
    public void A_view_change_moves_as_few_members_as_the_policy_allows()
    {
        var spec = Spec(Kv, new ShardPolicy { Shards = 2, MinReplicas = 2, MaxReplicas = 3 });
        var start = Compute([0, 1, 2, 3, 4, 5], null, spec);
        Assert.Equal([[0, 1, 4], [2, 3, 5]], start.Subgroups[0].Shards);

        // Member 1 fails: its shard still has its minimum; nobody moves.
        var lost1 = Compute([0, 2, 3, 4, 5], start, spec);
        Assert.Equal([[0, 4], [2, 3, 5]], lost1.Subgroups[0].Shards);

        // Member 4 fails too: shard 0 is short; exactly one member moves over from shard 1 (which keeps its minimum).
        var lost2 = Compute([0, 2, 3, 5], lost1, spec);
        Assert.True(lost2.IsAdequate);
        Assert.Equal(1, Moves(lost1, lost2));
        Assert.All(lost2.Subgroups[0].Shards, s => Assert.Equal(2, s.Length));

        // A joiner fills the emptiest shard; nobody else moves.
        var joined = Compute([0, 2, 3, 5, 6], lost2, spec);
        Assert.Equal(0, Moves(lost2, joined));
        Assert.Contains(6, joined.Subgroups[0].Shards.SelectMany(s => s));
    }

    [Fact]
    public void Policies_that_cannot_work_are_refused_with_the_reason()
    {
        Assert.Contains("MaxReplicas (1) is below MinReplicas (2)", new ShardPolicy { MinReplicas = 2, MaxReplicas = 1 }.Validate());
        Assert.Contains("Pinned names shard 3", new ShardPolicy { Shards = 2, Pinned = new Dictionary<int, int[]> { [3] = [1] } }.Validate());
        Assert.Contains("Shards must be", new ShardPolicy { Shards = 0 }.Validate());
    }

    [Fact]
    public void Layouts_round_trip_and_garbage_is_refused()
    {
        var layout = Compute([0, 1, 2, 3, 4, 5], null, Spec(Counter, new ShardPolicy()), Spec(Kv, ShardPolicy.Fixed(2, 3)));
        var copy = GroupLayout.TryDeserialize(layout.Serialize(), t => $"T{t:X}");
        Assert.NotNull(copy);
        Assert.Equal(layout.Serialize(), copy.Serialize());
        var random = new Random(7);
        for (var i = 0; i < 200; i++)
        {
            var bytes = layout.Serialize();
            bytes[random.Next(bytes.Length)] ^= (byte)(1 + random.Next(255));
            var garbled = GroupLayout.TryDeserialize(bytes.AsSpan(0, random.Next(bytes.Length)), _ => "x");
            Assert.True(garbled is null || garbled.Serialize().Length <= bytes.Length);
        }
        Assert.Null(GroupLayout.TryDeserialize([1, 2, 3], _ => "x"));
    }

    [Fact]
    public void Keys_route_to_the_same_shard_everywhere_and_spread_evenly()
    {
        var counts = new int[4];
        for (var i = 0; i < 4000; i++)
        {
            var shard = ShardKey.ShardOf($"key-{i}", 4);
            Assert.Equal(shard, ShardKey.ShardOf($"key-{i}", 4));
            counts[shard]++;
        }
        Assert.All(counts, c => Assert.InRange(c, 800, 1200));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShardKey.ShardOf("k", 0));
    }

    private static int Moves(GroupLayout before, GroupLayout after)
    {
        var moves = 0;
        for (var s = 0; s < before.Subgroups[0].Shards.Length; s++)
            moves += before.Subgroups[0].Shards[s].Count(id => after.Subgroups[0].Shards.Any(t => t.Contains(id)) && !after.Subgroups[0].Shards[s].Contains(id));
        return moves;
    }
}
