using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Derecho.Security;

/// <summary>
/// Makes a throwaway certificate authority and member/client certificates that carry their Derecho identity
/// (a SAN URI): for development, tests and demos. Production deployments use their own PKI with the same SAN URIs
/// (or <see cref="TlsOptions.Identities"/>).
/// </summary>
public static class DerechoCertificates
{
    /// <summary>A self-signed certificate authority (ECDSA P-256) valid for <paramref name="validFor"/> (default 30 days).</summary>
    public static X509Certificate2 CreateAuthority(string name, TimeSpan? validFor = null)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256); // not disposed: the certificate keeps using it
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now + (validFor ?? TimeSpan.FromDays(30)));
    }

    /// <summary>A certificate of member <paramref name="memberId"/> issued by <paramref name="authority"/>.</summary>
    public static X509Certificate2 IssueMember(X509Certificate2 authority, int memberId, TimeSpan? validFor = null)
    {
        if (!PeerIds.IsMember(memberId)) throw new ArgumentOutOfRangeException(nameof(memberId), memberId, $"a member id is in [0, {PeerIds.FirstClientId})");
        var now = DateTimeOffset.UtcNow;
        return Issue(authority, PeerIdentity.Member(memberId), now.AddMinutes(-5), now + (validFor ?? TimeSpan.FromDays(30)));
    }

    /// <summary>A certificate of client <paramref name="clientName"/> issued by <paramref name="authority"/>.</summary>
    public static X509Certificate2 IssueClient(X509Certificate2 authority, string clientName, TimeSpan? validFor = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clientName);
        var now = DateTimeOffset.UtcNow;
        return Issue(authority, PeerIdentity.Client(clientName), now.AddMinutes(-5), now + (validFor ?? TimeSpan.FromDays(30)));
    }

    /// <summary>Writes <paramref name="certificate"/> as PEM to <paramref name="certificatePath"/> and, if it has one, its key to <paramref name="keyPath"/>.</summary>
    public static void WritePem(X509Certificate2 certificate, string certificatePath, string? keyPath = null)
    {
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        if (keyPath is null || !certificate.HasPrivateKey) return;
        using var key = certificate.GetECDsaPrivateKey() ?? throw new NotSupportedException("only ECDSA keys are exported");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>
    /// Writes a development folder: a new authority as <c>ca.pem</c>, and <c>member-ID.pem</c>/<c>.key</c> for members
    /// 0 to <paramref name="members"/> − 1 and <c>client-NAME.pem</c>/<c>.key</c> for each of <paramref name="clients"/>,
    /// as <see cref="MemberTls"/> and <see cref="ClientTls"/> read them.
    /// </summary>
    public static void WriteFolder(string folder, string authorityName, int members, IEnumerable<string> clients, TimeSpan? validFor = null)
    {
        Directory.CreateDirectory(folder);
        using var authority = CreateAuthority(authorityName, validFor);
        WritePem(authority, AuthorityPath(folder));
        for (var id = 0; id < members; id++)
        {
            using var member = IssueMember(authority, id, validFor);
            var paths = MemberTls(folder, id);
            WritePem(member, paths.CertificatePath!, paths.KeyPath);
        }
        foreach (var name in clients)
        {
            using var client = IssueClient(authority, name, validFor);
            var paths = ClientTls(folder, name);
            WritePem(client, paths.CertificatePath!, paths.KeyPath);
        }
    }

    /// <summary>TLS settings of member <paramref name="memberId"/> from a folder laid out as <see cref="WriteFolder"/> writes it.</summary>
    public static TlsOptions MemberTls(string folder, int memberId) => FromFolder(folder, $"member-{memberId}");

    /// <summary>TLS settings of client <paramref name="clientName"/> from a folder laid out as <see cref="WriteFolder"/> writes it.</summary>
    public static TlsOptions ClientTls(string folder, string clientName) => FromFolder(folder, $"client-{clientName}");

    private static string AuthorityPath(string folder) => Path.Combine(folder, "ca.pem");

    private static TlsOptions FromFolder(string folder, string name) => new()
    {
        CertificatePath = Path.Combine(folder, $"{name}.pem"),
        KeyPath = Path.Combine(folder, $"{name}.key"),
        TrustedCaPath = AuthorityPath(folder),
    };

    /// <summary>A certificate of <paramref name="identity"/> with an explicit validity (tests issue expired ones).</summary>
    internal static X509Certificate2 Issue(X509Certificate2 authority, PeerIdentity identity, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256); // not disposed: the certificate keeps using it
        if (notAfter > authority.NotAfter) notAfter = authority.NotAfter; // a certificate cannot outlive its issuer
        var subject = identity.Role == PeerRole.Member ? $"CN=derecho-member-{identity.MemberId}" : $"CN=derecho-client-{identity.ClientName}";
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        // Members accept and dial, so every certificate serves both ends of TLS.
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(new Uri(identity.ToUri()));
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var issued = request.Create(authority, notBefore, notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }
}
