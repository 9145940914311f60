using Derecho.Hosting;
using Derecho.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Derecho.Tests.Hosting;

/// <summary>Members as generic hosts: options from IConfiguration, join on start, graceful leave on stop.</summary>
public class GenericHostTests
{
    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddLogging();
        builder.Services.AddDerecho(builder.Configuration.GetSection("Derecho"), layout => layout.Subgroup(_ => new Register()));
        return builder.Build();
    }

    private static Dictionary<string, string?> Settings(int myId, int[] ports)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Derecho:MyId"] = myId.ToString(),
            ["Derecho:FailureTimeout"] = "00:00:02",
            ["Derecho:DataDirectory"] = InProcessGroup.GroupDirectory(ports),
        };
        for (var i = 0; i < ports.Length; i++)
        {
            settings[$"Derecho:Members:{i}:Id"] = i.ToString();
            settings[$"Derecho:Members:{i}:Endpoint"] = $"127.0.0.1:{ports[i]}";
        }
        return settings;
    }

    [Fact]
    public async Task Hosts_form_a_group_and_a_stopping_host_leaves_gracefully()
    {
        var ports = Ports.Free(3);
        var hosts = Enumerable.Range(0, 3).Select(id => Build(Settings(id, ports))).ToArray();
        await Task.WhenAll(hosts.Select(h => h.StartAsync()));
        var groups = await Task.WhenAll(hosts.Select(h => h.Services.GetRequiredService<DerechoMember>().GetGroupAsync()));
        Assert.Equal(3, (await groups[0].Subgroup<Register>().Ordered.Set(1)).Count);

        var changed = new TaskCompletionSource<Derecho.Membership.View>(TaskCreationOptions.RunContinuationsAsynchronously);
        groups[0].ViewChanged += (view, _, _) => changed.TrySetResult(view);
        await hosts[2].StopAsync(); // SIGTERM / Ctrl-C end up here
        Assert.Equal([0, 1], (await changed.Task.WaitAsync(TimeSpan.FromSeconds(60))).Members);
        Assert.Equal([0, 1], (await groups[1].Subgroup<Register>().Ordered.Set(2)).Select(r => r.MemberId));

        await Task.WhenAll(hosts.Take(2).Select(h => h.StopAsync()));
        foreach (var host in hosts) host.Dispose();
    }

    [Theory]
    [InlineData("Derecho:MyId", "abc", "Derecho:MyId")]
    [InlineData("Derecho:Memberz", "1", "Memberz")]
    [InlineData("Derecho:Members:1:Id", "0", "Derecho:Members[1].Id: duplicate member id 0")]
    [InlineData("Derecho:RingBytes", "100", "Derecho:RingBytes/MaxPayloadBytes")]
    public async Task Bad_configuration_fails_at_start_naming_the_key(string key, string value, string expected)
    {
        var settings = Settings(0, Ports.Free(2));
        settings[key] = value;
        using var host = Build(settings);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        Assert.Contains(expected, error.ToString());
    }
}
