using Derecho.Client;
using Derecho.Errors;
using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Security;
using Derecho.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Security;

/// <summary>
/// Plaintext only where no one else can connect: a member or client that listens beyond loopback without TLS
/// refuses to start unless told to accept it; TLS settings that cannot work fail at start, naming the setting.
/// </summary>
public class SafeDefaultTests
{
    private static Task<DerechoGroup> Join(DerechoOptions options, ILoggerFactory? loggers = null) =>
        DerechoGroup.JoinAsync(options, layout => layout.Subgroup(_ => new Register()), loggers);

    private static DerechoOptions Alone(string endpoint) => new()
    {
        MyId = 0,
        Members = [new MemberOptions { Id = 0, Endpoint = endpoint }],
        DataDirectory = InProcessGroup.GroupDirectory([Environment.TickCount, 1, 99]),
        RingBytes = 1 << 20,
        MaxPayloadBytes = 64 << 10,
    };

    [Fact]
    public async Task A_member_listening_beyond_loopback_without_TLS_refuses_to_start_unless_AllowInsecure()
    {
        var port = Ports.Free(1)[0];
        var error = await Assert.ThrowsAsync<DerechoConfigurationException>(() => Join(Alone($"0.0.0.0:{port}")));
        Assert.StartsWith($"Derecho:Tls: listening on 0.0.0.0:{port}, which is not a loopback address, without TLS", error.Message);
        Assert.Contains("Derecho:AllowInsecure=true", error.Message);

        var log = new CapturingLoggerProvider();
        var insecure = Alone($"0.0.0.0:{port}");
        insecure.AllowInsecure = true;
        await using var member = await Join(insecure, log);
        Assert.True(log.Contains(LogLevel.Warning, "without TLS (Derecho:AllowInsecure)"));
        Assert.Equal([0L], (await member.Subgroup<Register>().Ordered.Set(1)).Select(r => (long)r.MemberId));
    }

    [Fact]
    public async Task A_client_listening_beyond_loopback_without_TLS_refuses_to_start()
    {
        var options = new DerechoClientOptions { Contacts = [new MemberOptions { Id = 0, Endpoint = "127.0.0.1:1" }], ListenEndpoint = "0.0.0.0:0" };
        var error = await Assert.ThrowsAsync<DerechoConfigurationException>(() => DerechoClient.ConnectAsync(options));
        Assert.Contains("without TLS: replies would travel in the clear", error.Message);
    }

    [Fact]
    public async Task TLS_settings_that_cannot_work_are_named_at_start()
    {
        using var pki = new TestPki();
        var port = Ports.Free(1)[0];

        var someoneElse = Alone($"127.0.0.1:{port}");
        someoneElse.Tls = pki.Member(1);
        var error = await Assert.ThrowsAsync<DerechoConfigurationException>(() => Join(someoneElse));
        Assert.Equal("Derecho:Tls:CertificatePath: the certificate identifies member 1, but this is member 0 (Derecho:MyId)", error.Message);

        var missing = Alone($"127.0.0.1:{port}");
        missing.Tls = new TlsOptions { CertificatePath = "/nonexistent/member.pem", TrustedCaPath = pki.AuthorityPath };
        error = await Assert.ThrowsAsync<DerechoConfigurationException>(() => Join(missing));
        Assert.Equal("Derecho:Tls:CertificatePath: '/nonexistent/member.pem' does not exist", error.Message);

        var trustsNobody = Alone($"127.0.0.1:{port}");
        trustsNobody.Tls = pki.Member(0);
        trustsNobody.Tls.TrustedCaPath = null;
        error = await Assert.ThrowsAsync<DerechoConfigurationException>(() => Join(trustsNobody));
        Assert.Contains("no peer would be trusted", error.Message);

        var namesWithoutTls = Alone($"127.0.0.1:{port}");
        namesWithoutTls.AuthorizedClients["app"] = ["*"];
        error = await Assert.ThrowsAsync<DerechoConfigurationException>(() => Join(namesWithoutTls));
        Assert.Equal("Derecho:AuthorizedClients: client names come from their certificates: configure Derecho:Tls", error.Message);

        var clientRange = Alone($"127.0.0.1:{port}");
        clientRange.Members[0].Id = clientRange.MyId = PeerIds.FirstClientId;
        error = await Assert.ThrowsAsync<DerechoConfigurationException>(() => Join(clientRange));
        Assert.Contains("is not below 1073741824", error.Message);
    }
}
