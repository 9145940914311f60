using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Derecho.Security;

namespace Derecho.Tests.Security;

/// <summary>Whom a certificate names: its SAN URI, or a configured mapping that cannot turn a client into a member.</summary>
public class CertificateIdentityTests
{
    private static readonly X509Certificate2 Authority = DerechoCertificates.CreateAuthority("identity-test-ca");

    [Fact]
    public void The_SAN_URI_names_a_member_or_a_client()
    {
        Assert.Equal(PeerIdentity.Member(3), CertificateIdentity.Of(DerechoCertificates.IssueMember(Authority, 3), new Dictionary<string, string>(), out _));
        Assert.Equal(PeerIdentity.Client("ingest"), CertificateIdentity.Of(DerechoCertificates.IssueClient(Authority, "ingest"), new Dictionary<string, string>(), out _));
    }

    [Fact]
    public void A_mapping_by_subject_cannot_turn_a_client_certificate_into_a_member()
    {
        var client = DerechoCertificates.IssueClient(Authority, "app"); // subject CN=derecho-client-app
        var mapping = new Dictionary<string, string> { [client.Subject] = "member:0" };
        Assert.Equal(PeerIdentity.Client("app"), CertificateIdentity.Of(client, mapping, out _));
    }

    [Fact]
    public void A_certificate_without_a_SAN_is_named_by_its_subject_or_thumbprint_mapping()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var plain = new CertificateRequest("CN=node7", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
        Assert.Equal(PeerIdentity.Member(7), CertificateIdentity.Of(plain, new Dictionary<string, string> { ["CN=node7"] = "member:7" }, out _));
        var byThumbprint = new Dictionary<string, string> { [plain.GetCertHashString(HashAlgorithmName.SHA256)] = "client:reporting" };
        Assert.Equal(PeerIdentity.Client("reporting"), CertificateIdentity.Of(plain, byThumbprint, out _));
        Assert.Null(CertificateIdentity.Of(plain, new Dictionary<string, string>(), out var problem));
        Assert.Contains("carries no Derecho identity", problem);
        Assert.Null(CertificateIdentity.Of(plain, new Dictionary<string, string> { ["CN=node7"] = "admin" }, out problem));
        Assert.Contains("neither member:<id> nor client:<name>", problem);
    }
}
