using Derecho.Hosting;
using Derecho.Layout;
using Derecho.Replication;
using Derecho.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Xunit;

namespace Derecho.Tests.Diagnostics;

/// <summary>The health check in each state a member can be in: running groups for what a group can show, status snapshots for the rest.</summary>
public sealed class HealthCheckTests
{
    private static Task<HealthCheckResult> Check(DerechoGroup member) => new DerechoHealthCheck(member).CheckHealthAsync(new HealthCheckContext());

    [Fact]
    public async Task A_member_of_an_adequate_full_view_is_healthy_and_says_its_view()
    {
        await using var group = await InProcessGroup.StartAsync(3);
        var result = await Check(group.Members[1]);
        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal(group.Members[1].View.Id, result.Data["view"]);
        Assert.Equal("0,1,2", string.Join(',', (int[])result.Data["members"]));
        Assert.True(result.Data.ContainsKey("shard Derecho.Tests.Support.Register/0"));
    }

    [Fact]
    public async Task A_shard_below_its_maximum_is_degraded_and_a_crashed_member_unhealthy()
    {
        await using var group = await InProcessGroup.StartAsync(3, layout: l => l.Subgroup(_ => new Register(), new ShardPolicy { MinReplicas = 2, MaxReplicas = 3 }));
        Assert.Equal(HealthStatus.Healthy, (await Check(group.Members[0])).Status);
        await group.Members[2].DisposeAsync();
        Assert.Equal(HealthStatus.Unhealthy, (await Check(group.Members[2])).Status);
        await Eventually.True(() => group.Members[0].View.Members.Count == 2, "the survivors install a view of two");
        var result = await Check(group.Members[0]);
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Contains("2 of 3 replicas", result.Description);
    }

    [Fact]
    public async Task A_hosted_member_that_has_not_started_is_unhealthy()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MyId"] = "0",
            ["Members:0:Id"] = "0",
            ["Members:0:Endpoint"] = "127.0.0.1:1",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddDerecho(configuration, l => l.Subgroup(_ => new Register()));
        services.AddHealthChecks().AddDerecho();
        await using var provider = services.BuildServiceProvider();
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["derecho"].Status);
        Assert.Contains("not started", report.Entries["derecho"].Description);
    }

    [Theory]
    [InlineData(MemberState.Starting, "not in a view yet")]
    [InlineData(MemberState.LoadingState, "loading a shard's state")]
    [InlineData(MemberState.Inadequate, "inadequate")]
    [InlineData(MemberState.Stopped, "has stopped")]
    internal void States_that_cannot_serve_are_unhealthy(MemberState state, string says)
    {
        var result = DerechoHealth.Evaluate(new MemberStatus(4, state, 7, [4, 5], [], "a reason"), _ => TimeSpan.Zero, new DerechoHealthCheckOptions());
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains(says, result.Description);
    }

    [Fact]
    public void A_version_waiting_for_the_disk_longer_than_the_tolerance_is_degraded()
    {
        var watch = new PersistenceLagWatch();
        var start = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var options = new DerechoHealthCheckOptions { PersistenceLagTolerance = TimeSpan.FromSeconds(5) };
        HealthCheckResult At(double seconds, long logged, long persisted)
        {
            var shard = new ShardStatus("Journal", 0, 3, int.MaxValue, Persistent: true, Delivered: logged, Logged: logged, Persisted: persisted, GloballyPersisted: persisted);
            var status = new MemberStatus(0, MemberState.Running, 1, [0, 1, 2], [shard]);
            return DerechoHealth.Evaluate(status, s => watch.BehindFor(s, start.AddSeconds(seconds)), options);
        }

        Assert.Equal(HealthStatus.Healthy, At(0, logged: 10, persisted: 8).Status);
        Assert.Equal(HealthStatus.Healthy, At(4, logged: 12, persisted: 9).Status); // version 10 has waited 4 s
        Assert.Equal(HealthStatus.Degraded, At(6, logged: 12, persisted: 9).Status); // and now 6 s
        Assert.Equal(HealthStatus.Healthy, At(7, logged: 14, persisted: 11).Status); // 10 is on disk: the watch waits for 14 from now
        Assert.Equal(HealthStatus.Healthy, At(30, logged: 14, persisted: 14).Status);
    }
}
