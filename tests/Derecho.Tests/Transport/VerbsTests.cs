using Derecho.Errors;
using Derecho.Hosting;
using Derecho.Tests.Support;
using Derecho.Transport.Verbs;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Transport;

/// <summary>The RDMA probe and the fallback to TCP.</summary>
public class VerbsTests
{
    [Fact]
    public void Probe_lists_devices_or_says_why_there_are_none()
    {
        var probe = VerbsDevices.Probe();
        Assert.True(probe.HasDevices || !string.IsNullOrWhiteSpace(probe.Unavailable), "either devices or a reason");
        Assert.Equal(probe.HasDevices, probe.Unavailable is null);
    }

    [SkippableFact]
    public void Devices_have_names_when_rdma_hardware_exists()
    {
        var probe = VerbsDevices.Probe();
        Skip.IfNot(probe.HasDevices, $"no RDMA device on this machine: {probe.Unavailable}");
        Assert.All(probe.Devices, name => Assert.False(string.IsNullOrWhiteSpace(name)));
    }

    [Fact]
    public async Task Rdma_request_falls_back_to_tcp_with_a_clear_message()
    {
        var log = new CapturingLoggerProvider();
        var options = InProcessGroup.Options(0, Ports.Free(1));
        options.Transport = "rdma";
        await using var group = await DerechoGroup.JoinAsync(options, layout => layout.Subgroup(_ => new Register()), log);
        Assert.Single(await group.Subgroup<Register>().Ordered.Set(1));
        Assert.True(log.Contains(LogLevel.Warning, "using TCP") || log.Contains(LogLevel.Warning, "falling back to TCP"),
            string.Join("\n", log.Entries.Select(e => e.Message)));
    }

    [Fact]
    public async Task Unknown_transport_is_named()
    {
        var options = InProcessGroup.Options(0, Ports.Free(1));
        options.Transport = "carrier-pigeon";
        var error = await Assert.ThrowsAsync<DerechoConfigurationException>(() => DerechoGroup.JoinAsync(options, layout => layout.Subgroup(_ => new Register())));
        Assert.Equal("Derecho:Transport: 'carrier-pigeon' is not a transport (tcp or rdma)", error.Message);
    }
}
