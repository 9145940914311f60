using Derecho.Client;
using Derecho.Errors;
using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Security;
using Derecho.Tests.Support;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Security;

/// <summary>
/// Mutual TLS: a group whose members and clients present certificates naming them. Tried as an attacker would:
/// untrusted, expired and misnamed certificates, a client certificate claiming a member id, joining or writing an
/// SST row, plaintext to a TLS member. Each is refused with its reason (told to the peer and logged), nothing is
/// applied, and the group keeps working in its first view.
/// </summary>
public class TlsTests
{
    private static async Task<InProcessGroup> StartTlsGroupAsync(TestPki pki, CapturingLoggerProvider? log = null, Action<DerechoOptions>? configure = null) =>
        await InProcessGroup.StartAsync(loggers: log, configure: options =>
        {
            options.Tls = pki.Member(options.MyId);
            configure?.Invoke(options);
        });

    private static DerechoClientOptions ClientOptions(InProcessGroup group, TlsOptions? tls)
    {
        var options = group.ClientOptions();
        options.Tls = tls;
        options.ConnectTimeout = TimeSpan.FromSeconds(10);
        return options;
    }

    private static uint TypeIdOf<T>() where T : Derecho.Rpc.IReplicatedType => T.ReplicatedTypeId;

    private static ulong Fingerprint(InProcessGroup group)
    {
        var options = InProcessGroup.Options(0, group.Ports);
        return GroupFingerprint.Of(options.GroupName, options.RingBytes, options.MaxPayloadBytes);
    }

    [Fact]
    public async Task A_TLS_group_serves_ordered_and_P2P_calls_from_members_and_a_client()
    {
        using var pki = new TestPki();
        await using var group = await StartTlsGroupAsync(pki);
        var results = await group.Members[0].Subgroup<Register>().Ordered.Set(7);
        Assert.Equal([0, 1, 2], results.Select(r => r.MemberId));

        await using var client = await DerechoClient.ConnectAsync(ClientOptions(group, pki.Client("app")));
        var register = client.Subgroup<Register>();
        var relayed = await register.Ordered.Set(8);
        Assert.Equal([0, 1, 2], relayed.Select(r => r.MemberId));
        Assert.Equal(8, await register.On(2).Get());
    }

    [Fact]
    public async Task Untrusted_expired_and_misnamed_certificates_are_refused_with_the_reason_and_nothing_changes()
    {
        using var pki = new TestPki();
        using var other = new TestPki("a-stranger-ca");
        var log = new CapturingLoggerProvider();
        await using var group = await StartTlsGroupAsync(pki, log);
        var port = group.Ports[0];
        var fingerprint = Fingerprint(group);

        // A certificate from an authority the group does not trust, naming a real member.
        await using (var stranger = await TlsProbe.HelloAsync(port, DerechoCertificates.IssueMember(other.Authority, 1), 1, fingerprint))
            Assert.Contains("is not trusted", stranger.Refusal);
        // Issued by the right authority, but expired.
        var now = DateTimeOffset.UtcNow;
        var expired = DerechoCertificates.Issue(pki.Authority, PeerIdentity.Member(1), now.AddMinutes(-3), now.AddMinutes(-1));
        await using (var late = await TlsProbe.HelloAsync(port, expired, 1, fingerprint))
            Assert.Contains("expired on", late.Refusal);
        // A valid member certificate claiming another member's id (its SST row).
        await using (var impostor = await TlsProbe.HelloAsync(port, DerechoCertificates.IssueMember(pki.Authority, 1), 2, fingerprint))
            Assert.Contains("claims to be member 2, but its certificate identifies member 1", impostor.Refusal);
        // A client certificate claiming a member id (to join or write a row).
        await using (var climber = await TlsProbe.HelloAsync(port, DerechoCertificates.IssueClient(pki.Authority, "app"), 5, fingerprint))
            Assert.Contains("claims to be member 5, but its certificate identifies client 'app'", climber.Refusal);
        // The authority's own certificate (it chains, it is valid, but it is no member's or client's).
        await using (var authority = await TlsProbe.HelloAsync(port, pki.Authority, 5, fingerprint))
            Assert.Contains("belongs to a certificate authority", authority.Refusal);

        // Plaintext to a TLS member: told, in plaintext, that TLS is required.
        using (var plain = new System.Net.Sockets.TcpClient())
        {
            await plain.ConnectAsync(System.Net.IPAddress.Loopback, port);
            await plain.GetStream().WriteAsync(RawFrames.HelloFrom(7, fingerprint));
            var answer = new byte[512];
            var read = 0;
            for (int n; (n = await plain.GetStream().ReadAsync(answer.AsMemory(read))) > 0;) read += n;
            Assert.Equal(5, answer[2]); // Refused
            Assert.Contains("requires TLS", System.Text.Encoding.UTF8.GetString(answer, 16, read - 16));
        }

        foreach (var reason in new[] { "is not trusted", "expired on", "certificate identifies member 1", "certificate identifies client 'app'", "requires TLS" })
            Assert.True(log.Contains(LogLevel.Warning, reason), $"no warning naming '{reason}'");
        var results = await group.Members[0].Subgroup<Register>().Ordered.Set(3);
        Assert.Equal([0, 1, 2], results.Select(r => r.MemberId));
        Assert.All(group.Members, m => Assert.Equal(0, m.View.Id));
        Assert.DoesNotContain(group.Members, m => m.Failed.IsCompleted);
    }

    [Fact]
    public async Task A_client_certificate_cannot_join_write_an_SST_row_or_send_membership_frames()
    {
        using var pki = new TestPki();
        var log = new CapturingLoggerProvider();
        await using var group = await StartTlsGroupAsync(pki, log);
        var fingerprint = Fingerprint(group);
        var client = DerechoCertificates.IssueClient(pki.Authority, "app");

        // Accepted as a client (a client id), it asks to join and claims a suspicion: both ignored.
        await using (var asClient = await TlsProbe.HelloAsync(group.Ports[0], client, PeerIds.FirstClientId + 5, fingerprint))
        {
            Assert.Null(asClient.Refusal);
            var join = new byte[16];
            join[0] = (byte)MessageKind.JoinRequest;
            await asClient.SendAsync(RawFrames.MessageOf(join));
            await Eventually.True(() => log.Contains(LogLevel.Warning, "which clients may not send"), "the join request to be refused");
            // One-sided write into member 0's copy of "its" SST row: the connection is dropped.
            await asClient.SendAsync(RawFrames.WriteTo(region: 0, epoch: 0, offset: 0, payload: new byte[64]));
            Assert.True(await asClient.ClosedAsync(TimeSpan.FromSeconds(10)), "the connection should be dropped");
        }
        Assert.True(log.Contains(LogLevel.Warning, "only members write SST rows and rings"));

        var results = await group.Members[1].Subgroup<Register>().Ordered.Set(4);
        Assert.Equal([0, 1, 2], results.Select(r => r.MemberId));
        Assert.All(group.Members, m => Assert.Equal([0, 1, 2], m.View.Members));
        Assert.DoesNotContain(group.Members, m => m.Failed.IsCompleted);
    }

    [Fact]
    public async Task A_call_from_a_client_that_skipped_its_hello_costs_nothing_but_its_connection()
    {
        using var pki = new TestPki();
        var log = new CapturingLoggerProvider();
        await using var group = await StartTlsGroupAsync(pki, log, options => options.AuthorizedClients = new() { ["writer"] = ["*"] });
        var fingerprint = Fingerprint(group);

        // A trusted client, not authorized, says the transport hello but never the ClientHello, then calls: the refusal
        // has no one to go to. It used to throw on the member's reader thread and end the member process.
        await using (var rude = await TlsProbe.HelloAsync(group.Ports[0], DerechoCertificates.IssueClient(pki.Authority, "rude"), PeerIds.FirstClientId + 9, fingerprint))
        {
            Assert.Null(rude.Refusal);
            var relay = new byte[RpcHeaders.RelayHeaderSize + 8];
            RpcHeaders.WriteRelayHeader(relay, TypeIdOf<Register>(), 0, 1, 77);
            await rude.SendAsync(RawFrames.MessageOf(relay));
            var p2p = new byte[RpcHeaders.P2PHeaderSize + 8];
            RpcHeaders.WriteP2PHeader(p2p, TypeIdOf<Register>(), 0, 1, 78);
            await rude.SendAsync(RawFrames.MessageOf(p2p));
            await Task.Delay(300);
        }
        var results = await group.Members[0].Subgroup<Register>().Ordered.Set(6);
        Assert.Equal([0, 1, 2], results.Select(r => r.MemberId));
        Assert.DoesNotContain(group.Members, m => m.Failed.IsCompleted);
    }

    [Fact]
    public async Task One_client_certificate_holds_a_bounded_number_of_connections()
    {
        using var pki = new TestPki();
        var ports = Ports.Free(1);
        var endpoints = new Dictionary<int, System.Net.IPEndPoint> { [0] = new(System.Net.IPAddress.Loopback, ports[0]) };
        var tls = TlsCredentials.Load(pki.Member(0), "test", _ => null, trustedBySelf: true);
        var log = new CapturingLoggerProvider();
        await using var member = TcpTransport.Listen(new TcpTransportOptions { LocalId = 0, Endpoints = endpoints, GroupFingerprint = 99, Tls = tls, MaxConnectionsPerClient = 2 },
            new NoHandler(), log.CreateLogger("member"));
        var app = DerechoCertificates.IssueClient(pki.Authority, "app");

        await using var first = await TlsProbe.HelloAsync(ports[0], app, PeerIds.FirstClientId + 1, 99);
        await using var second = await TlsProbe.HelloAsync(ports[0], app, PeerIds.FirstClientId + 2, 99);
        await using var third = await TlsProbe.HelloAsync(ports[0], app, PeerIds.FirstClientId + 3, 99);
        await using var other = await TlsProbe.HelloAsync(ports[0], DerechoCertificates.IssueClient(pki.Authority, "other"), PeerIds.FirstClientId + 4, 99);
        Assert.Null(first.Refusal);
        Assert.Null(second.Refusal);
        Assert.Contains("client 'app' already holds 2 connections to this member", third.Refusal);
        Assert.Null(other.Refusal); // another client is not held back by it
    }

    private sealed class NoHandler : ITransportHandler
    {
        public void OnWritesApplied(int peerId) { }
        public void OnMessage(int peerId, ReadOnlySpan<byte> message) { }
        public void OnPeerDisconnected(int peerId, string reason) { }
    }

    [Fact]
    public async Task A_client_learns_why_it_is_refused()
    {
        using var pki = new TestPki();
        using var other = new TestPki("a-stranger-ca");
        await using var group = await StartTlsGroupAsync(pki);

        var wrongGroup = ClientOptions(group, pki.Client("app"));
        wrongGroup.GroupName = "another-group";
        var error = await Assert.ThrowsAsync<TransportException>(() => DerechoClient.ConnectAsync(wrongGroup));
        Assert.Contains("group fingerprint", error.Message);

        var untrusted = ClientOptions(group, other.Client("app"));
        untrusted.Tls!.TrustedCaPath = pki.AuthorityPath; // it trusts the group, the group does not trust it
        error = await Assert.ThrowsAsync<TransportException>(() => DerechoClient.ConnectAsync(untrusted));
        Assert.Contains("refused your certificate", error.Message);
        Assert.Contains("is not trusted", error.Message);

        var plaintext = ClientOptions(group, tls: null);
        error = await Assert.ThrowsAsync<TransportException>(() => DerechoClient.ConnectAsync(plaintext));
        Assert.Contains("requires TLS", error.Message);
    }

    [Fact]
    public async Task AuthorizedClients_admits_each_client_to_its_types_only()
    {
        using var pki = new TestPki();
        await using var group = await StartTlsGroupAsync(pki, configure: options =>
            options.AuthorizedClients = new() { ["writer"] = ["*"], ["auditor"] = ["Ledger"] });

        await using var writer = await DerechoClient.ConnectAsync(ClientOptions(group, pki.Client("writer")));
        Assert.Equal([0, 1, 2], (await writer.Subgroup<Register>().Ordered.Set(11)).Select(r => r.MemberId));

        await using var auditor = await DerechoClient.ConnectAsync(ClientOptions(group, pki.Client("auditor")));
        var refused = await Assert.ThrowsAsync<UnauthorizedCallException>(() => auditor.Subgroup<Register>().Ordered.Set(99));
        Assert.Contains("client 'auditor' may not call", refused.Message);
        await Assert.ThrowsAsync<UnauthorizedCallException>(() => auditor.Subgroup<Register>().On(0).Get());

        await using var stranger = await DerechoClient.ConnectAsync(ClientOptions(group, pki.Client("stranger")));
        var unknown = await Assert.ThrowsAsync<UnauthorizedCallException>(() => stranger.Subgroup<Register>().Ordered.Set(98));
        Assert.Contains("is not in Derecho:AuthorizedClients", unknown.Message);

        Assert.Equal(11, await writer.Subgroup<Register>().On(1).Get()); // nothing the refused calls carried was applied
    }

    [Fact]
    public async Task The_status_query_is_answered_only_to_clients_AuthorizedClients_lets_read_it()
    {
        // The status names every member, endpoint, shard and version: with rules, a client reads it only when its rule
        // says "*" or "@status". Tried: a client admitted to everything, one to the status only, one to a type only, a stranger.
        using var pki = new TestPki();
        await using var group = await StartTlsGroupAsync(pki, configure: options =>
            options.AuthorizedClients = new() { ["admin"] = ["*"], ["monitor"] = ["@status"], ["auditor"] = ["Register"] });

        await using var admin = await DerechoClient.ConnectAsync(ClientOptions(group, pki.Client("admin")));
        Assert.Equal([0, 1, 2], (await admin.GetStatusAsync(0)).Members);

        await using var monitor = await DerechoClient.ConnectAsync(ClientOptions(group, pki.Client("monitor")));
        Assert.Equal([0, 1, 2], (await monitor.GetStatusAsync(1)).Members);
        await Assert.ThrowsAsync<UnauthorizedCallException>(() => monitor.Subgroup<Register>().Ordered.Set(5)); // the status right is not a call right

        await using var auditor = await DerechoClient.ConnectAsync(ClientOptions(group, pki.Client("auditor")));
        var refused = await Assert.ThrowsAsync<UnauthorizedCallException>(() => auditor.GetStatusAsync(0));
        Assert.Contains("client 'auditor' may not read the status", refused.Message);
        Assert.Contains("@status", refused.Message);
        // The report (what the CLI prints and the dashboard shows) says so per member, rather than "Unreachable".
        var report = await GroupReport.ReadAsync(auditor);
        Assert.All(report.Members, m => Assert.Equal("Unauthorized", m.State));
        Assert.Equal("Running", (await GroupReport.ReadAsync(monitor)).Members[0].State);

        await using var stranger = await DerechoClient.ConnectAsync(ClientOptions(group, pki.Client("stranger")));
        var unknown = await Assert.ThrowsAsync<UnauthorizedCallException>(() => stranger.GetStatusAsync(2));
        Assert.Contains("is not in Derecho:AuthorizedClients", unknown.Message);
        Assert.DoesNotContain(group.Members, m => m.Failed.IsCompleted);
    }
}
