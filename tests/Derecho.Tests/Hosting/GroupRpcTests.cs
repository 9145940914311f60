using Derecho.Rpc;
using Derecho.Tests.Support;

namespace Derecho.Tests.Hosting;

/// <summary>Ordered and P2P calls through generated proxies between three in-process members.</summary>
public class GroupRpcTests
{
    [Fact]
    public async Task Ordered_call_returns_one_reply_per_replica_tagged_with_member()
    {
        await using var group = await InProcessGroup.StartAsync();
        var register = group.Members[1].Subgroup<Register>();
        var results = await register.Ordered.Set(42);
        Assert.Equal([0, 1, 2], results.Select(r => r.MemberId).Order());
        Assert.All(results, r => Assert.Equal(1L, r.Value));
        Assert.Equal(1L, results.ValueFrom(2));
        foreach (var member in group.Members) Assert.Equal(42, await register.On(member.MyId).Get());
    }

    [Fact]
    public async Task Concurrent_ordered_calls_apply_in_the_same_order_everywhere()
    {
        await using var group = await InProcessGroup.StartAsync();
        var calls = group.Members.SelectMany(m => Enumerable.Range(0, 300).Select(i => m.Subgroup<Register>().Ordered.Set(m.MyId * 1000 + i))).ToArray();
        await Task.WhenAll(calls);
        var histories = await Task.WhenAll(group.Members.Select(m => m.Subgroup<Register>().On(m.MyId).History()));
        Assert.Equal(900, histories[0].Count);
        Assert.All(histories, h => Assert.Equal(histories[0], h));
    }

    [Fact]
    public async Task Handler_exception_reaches_the_caller_with_member_and_reason()
    {
        await using var group = await InProcessGroup.StartAsync();
        var error = await Assert.ThrowsAsync<RemoteCallException>(() => group.Members[0].Subgroup<Register>().Ordered.Explode("boom"));
        Assert.Contains("InvalidOperationException: boom", error.Message);
        // The group keeps working after a failing call.
        var results = await group.Members[0].Subgroup<Register>().Ordered.Set(7);
        Assert.Equal(3, results.Count);
    }

    [Fact]
    public async Task Ordered_context_gives_every_replica_the_same_time_and_randomness()
    {
        await using var group = await InProcessGroup.StartAsync();
        var first = await group.Members[0].Subgroup<Register>().Ordered.Stamp();
        var second = await group.Members[2].Subgroup<Register>().Ordered.Stamp();
        Assert.Single(first.Select(r => r.Value).Distinct());
        Assert.Single(second.Select(r => r.Value).Distinct());
        Assert.NotEqual(first[0].Value, second[0].Value);
        Assert.True(long.Parse(first[0].Value.Split('/')[0]) < long.Parse(second[0].Value.Split('/')[0]), "agreed time moves forward");
        Assert.Throws<InvalidOperationException>(() => OrderedContext.Timestamp);
    }

    [Fact]
    public async Task Arguments_of_the_wrong_type_are_refused_and_nothing_is_applied()
    {
        await using var group = await InProcessGroup.StartAsync();
        var register = group.Members[0].Subgroup<Register>();
        await register.Ordered.Set(7);
        // A caller built against another signature sends 2 bytes where Set(long) expects 8.
        var request = register.Ordered.BeginCall();
        request.GetSpan(2)[..2].Fill(0xAB);
        request.Advance(2);
        var error = await Assert.ThrowsAsync<RemoteCallException>(() => register.Ordered.Invoke<long>(Fnv1a("Set(long)"), request));
        Assert.Contains("request could not be read", error.Message);
        // And an unknown method id is named as such.
        var unknown = await Assert.ThrowsAsync<RemoteCallException>(() => register.Ordered.Invoke<long>(0xDEADBEEF, register.Ordered.BeginCall()));
        Assert.Contains("no method with id DEADBEEF", unknown.Message);
        foreach (var member in group.Members) Assert.Equal(7, await register.On(member.MyId).Get());
    }

    /// <summary>The generator's stable method id: FNV-1a of the signature.</summary>
    private static uint Fnv1a(string signature)
    {
        var hash = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(signature)) hash = (hash ^ b) * 16777619u;
        return hash;
    }

    [Fact]
    public async Task P2P_call_to_a_non_member_is_a_clear_error()
    {
        await using var group = await InProcessGroup.StartAsync();
        var error = await Assert.ThrowsAsync<ArgumentException>(() => group.Members[0].Subgroup<Register>().On(99).Get());
        Assert.Contains("member 99 is not in this group", error.Message);
    }

    [Fact]
    public async Task Type_outside_the_layout_is_a_clear_error()
    {
        await using var group = await InProcessGroup.StartAsync(size: 1);
        var error = Assert.Throws<InvalidOperationException>(() => group.Members[0].Subgroup<Unhosted>());
        Assert.Contains("is not in this group's layout", error.Message);
    }
}

[Replicated]
public partial class Unhosted
{
    [Ordered]
    public int Nothing() => 0;
}
