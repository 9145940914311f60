using Derecho.Errors;
using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Tests.Support;
using Derecho.Transport;

namespace Derecho.Tests.Hosting;

/// <summary>Bad configuration fails at start with the setting and the problem named.</summary>
public class ConfigurationTests
{
    private static Task<DerechoGroup> Join(DerechoOptions options) =>
        DerechoGroup.JoinAsync(options, layout => layout.Subgroup(_ => new Register()));

    private static DerechoOptions Members(params string[] endpoints) => new()
    {
        MyId = 0,
        Members = endpoints.Select((e, i) => new MemberOptions { Id = i, Endpoint = e }).ToList(),
        DataDirectory = InProcessGroup.GroupDirectory([Environment.TickCount, endpoints.Length]),
    };

    [Fact]
    public async Task Duplicate_member_id_is_named()
    {
        var options = Members("127.0.0.1:1", "127.0.0.1:2");
        options.Members[1].Id = 0;
        var error = await Assert.ThrowsAsync<DerechoConfigurationException>(() => Join(options));
        Assert.Equal("Derecho:Members[1].Id: duplicate member id 0 (also Members[0])", error.Message);
    }

    [Theory]
    [InlineData("localhost", "Derecho:Members[0].Endpoint: 'localhost' is not host:port")]
    [InlineData("127.0.0.1:99999", "Derecho:Members[0].Endpoint: '127.0.0.1:99999' has an invalid port")]
    [InlineData("", "Derecho:Members[0].Endpoint: endpoint is empty")]
    [InlineData("[::1]:5000", "Derecho:Members[0].Endpoint: '[::1]:5000' is an IPv6 endpoint; only IPv4")] // before: accepted, then NotSupportedException at the first join
    [InlineData("::1:5000", "Derecho:Members[0].Endpoint: '::1:5000' is an IPv6 endpoint; only IPv4")]
    public async Task Malformed_endpoint_is_named(string endpoint, string message)
    {
        var error = await Assert.ThrowsAsync<DerechoConfigurationException>(() => Join(Members(endpoint)));
        Assert.StartsWith(message, error.Message);
    }

    [Fact]
    public async Task Own_id_missing_from_members_is_named()
    {
        var options = Members("127.0.0.1:1");
        options.MyId = 5;
        var error = await Assert.ThrowsAsync<DerechoConfigurationException>(() => Join(options));
        Assert.Equal("Derecho:MyId: member id 5 is not in Members (0)", error.Message);
    }

    [Fact]
    public async Task Ring_smaller_than_two_messages_is_named()
    {
        var options = Members("127.0.0.1:1");
        options.RingBytes = 1024;
        var error = await Assert.ThrowsAsync<DerechoConfigurationException>(() => Join(options));
        Assert.StartsWith("Derecho:RingBytes/MaxPayloadBytes: RingBytes (1024) must be at least twice", error.Message);
    }

    [Fact]
    public async Task Unreachable_member_is_named_with_its_endpoint()
    {
        var ports = Ports.Free(2);
        var options = Members($"127.0.0.1:{ports[0]}", $"127.0.0.1:{ports[1]}");
        options.ConnectTimeout = TimeSpan.FromSeconds(1);
        var error = await Assert.ThrowsAsync<TransportException>(() => Join(options));
        Assert.Contains($"member 1 at 127.0.0.1:{ports[1]} is unreachable after 1s", error.Message);
    }

    [Fact]
    public async Task Port_already_in_use_is_named()
    {
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((System.Net.IPEndPoint)squatter.LocalEndpoint).Port;
        var error = await Assert.ThrowsAsync<TransportException>(() => Join(Members($"127.0.0.1:{port}")));
        Assert.Contains($"member 0 cannot listen on 127.0.0.1:{port}", error.Message);
    }
}
