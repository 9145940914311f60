using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Derecho.Errors;

namespace Derecho.Security;

/// <summary>
/// This process's certificate and whom it trusts, loaded once from <see cref="TlsOptions"/>. TLS itself accepts any
/// certificate a peer presents (so a refused peer can be told why over the encrypted channel); <see cref="Check"/>
/// then decides: trusted issuer or pinned, within its validity, carrying an identity.
/// </summary>
internal sealed class TlsCredentials
{
    private readonly SslStreamCertificateContext _context;
    private readonly X509Certificate2Collection _authorities;
    private readonly HashSet<string> _pinned;
    private readonly IReadOnlyDictionary<string, string> _identities;

    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";
    private const string AnyExtendedKeyUsage = "2.5.29.37.0";

    private TlsCredentials(X509Certificate2 certificate, X509Certificate2Collection intermediates, X509Certificate2Collection authorities, HashSet<string> pinned,
        IReadOnlyDictionary<string, string> identities, PeerIdentity local)
    {
        Certificate = certificate;
        // Intermediates in our PEM file go out with our certificate, so peers can chain it to the authority they trust.
        _context = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
        _authorities = authorities;
        _pinned = pinned;
        _identities = identities;
        Local = local;
    }

    /// <summary>This process's certificate.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Whom this process's certificate says it is.</summary>
    public PeerIdentity Local { get; }

    /// <summary>
    /// Loads the credentials and checks that our own certificate is valid, names whom <paramref name="expected"/>
    /// wants and, for a member (<paramref name="trustedBySelf"/>: members share one trust), is trusted by our own
    /// rules; throws <see cref="DerechoConfigurationException"/> naming the problem.
    /// </summary>
    public static TlsCredentials Load(TlsOptions options, string section, Func<PeerIdentity, string?> expected, bool trustedBySelf)
    {
        var certificate = LoadCertificate(options, section);
        var intermediates = Intermediates(options, certificate);
        if (!certificate.HasPrivateKey) throw Problem(section, "CertificatePath", "the certificate has no private key (set KeyPath, or use a PFX with its key)");
        var authorities = new X509Certificate2Collection();
        if (options.TrustedCaPath is { Length: > 0 } ca)
        {
            if (!File.Exists(ca)) throw Problem(section, "TrustedCaPath", $"'{ca}' does not exist");
            try { authorities.ImportFromPemFile(ca); }
            catch (CryptographicException e) { throw Problem(section, "TrustedCaPath", $"'{ca}' is not a PEM file of certificates: {e.Message}"); }
            if (authorities.Count == 0) throw Problem(section, "TrustedCaPath", $"'{ca}' holds no certificate");
        }
        var pinned = options.PinnedThumbprints.Select(Normalize).ToHashSet(StringComparer.Ordinal);
        if (authorities.Count == 0 && pinned.Count == 0)
            throw Problem(section, "TrustedCaPath", "no peer would be trusted: set TrustedCaPath or PinnedThumbprints");
        var identities = options.Identities.ToDictionary(e => IsThumbprint(e.Key) ? Normalize(e.Key) : e.Key, e => e.Value, StringComparer.OrdinalIgnoreCase);
        var draft = new TlsCredentials(certificate, intermediates, authorities, pinned, identities, default);
        var (local, refusal) = draft.CheckCertificate(certificate, intermediates, trustedBySelf);
        if (local is not { } identity) throw Problem(section, "CertificatePath", $"this process's own certificate would be refused by its peers: {refusal}");
        if (expected(identity) is { } mismatch) throw Problem(section, "CertificatePath", mismatch);
        return new TlsCredentials(certificate, intermediates, authorities, pinned, identities, identity);
    }

    /// <summary>
    /// Options for the accepting side: TLS 1.3, a client certificate required (checked by <see cref="Check"/>); the
    /// intermediates the peer sent are collected into <paramref name="presented"/>.
    /// </summary>
    public SslServerAuthenticationOptions ServerOptions(X509Certificate2Collection presented) => new()
    {
        ServerCertificateContext = _context,
        ClientCertificateRequired = true,
        EnabledSslProtocols = SslProtocols.Tls13,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        CertificateChainPolicy = OfflinePolicy(),
        RemoteCertificateValidationCallback = (_, certificate, chain, _) => Collect(certificate, chain, presented),
    };

    /// <summary>Options for the dialling side: our certificate always offered, the server's checked by <see cref="Check"/>.</summary>
    public SslClientAuthenticationOptions ClientOptions(int peer, X509Certificate2Collection presented) => new()
    {
        TargetHost = $"derecho-{peer}",
        ClientCertificateContext = _context,
        EnabledSslProtocols = SslProtocols.Tls13,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        CertificateChainPolicy = OfflinePolicy(),
        RemoteCertificateValidationCallback = (_, certificate, chain, _) => Collect(certificate, chain, presented),
    };

    /// <summary>Whom <paramref name="presented"/> belongs to, or why it is refused (untrusted, expired, not a leaf, no identity).</summary>
    public (PeerIdentity? Identity, string? Refusal) Check(X509Certificate? presented, X509Certificate2Collection intermediates) =>
        CheckCertificate(presented, intermediates, checkTrust: true);

    private (PeerIdentity? Identity, string? Refusal) CheckCertificate(X509Certificate? presented, X509Certificate2Collection intermediates, bool checkTrust)
    {
        if (presented is null) return (null, "no certificate was presented");
        if (presented is not X509Certificate2 certificate) return (null, "the certificate presented cannot be read");
        var name = $"certificate '{certificate.Subject}' (SHA-256 {certificate.GetCertHashString(HashAlgorithmName.SHA256)[..16]}…)";
        var now = DateTime.UtcNow;
        if (now < certificate.NotBefore.ToUniversalTime()) return (null, $"{name} is not valid before {certificate.NotBefore.ToUniversalTime():u}");
        if (now > certificate.NotAfter.ToUniversalTime()) return (null, $"{name} expired on {certificate.NotAfter.ToUniversalTime():u}");
        if (NotALeaf(certificate) is { } misuse) return (null, $"{name} {misuse}");
        if (checkTrust && !IsPinned(certificate) && Untrusted(certificate, intermediates) is { } why) return (null, $"{name} is not trusted: {why}");
        var identity = CertificateIdentity.Of(certificate, _identities, out var problem);
        return identity is null ? (null, $"{name} is refused: {problem}") : (identity, null);
    }

    private bool IsPinned(X509Certificate2 certificate) =>
        _pinned.Contains(certificate.GetCertHashString(HashAlgorithmName.SHA256)) || _pinned.Contains(certificate.Thumbprint);

    private string? Untrusted(X509Certificate2 certificate, X509Certificate2Collection intermediates)
    {
        if (_authorities.Count == 0) return "it is not pinned in PinnedThumbprints (and no TrustedCaPath is set)";
        using var chain = new X509Chain { ChainPolicy = OfflinePolicy() };
        chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        if (chain.Build(certificate)) return null;
        var status = chain.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}").Distinct();
        return $"not issued by an authority in TrustedCaPath ({string.Join("; ", status)})";
    }

    /// <summary>
    /// Chains are built from what is here and what the peer sent, never fetched: a stranger's certificate must not
    /// make the member download from addresses it names. No revocation check (see docs/security.md).
    /// </summary>
    private X509ChainPolicy OfflinePolicy()
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(_authorities);
        return policy;
    }

    private static bool Collect(X509Certificate? certificate, X509Chain? chain, X509Certificate2Collection presented)
    {
        if (chain is not null)
            foreach (var extra in chain.ChainPolicy.ExtraStore)
                presented.Add(extra);
        return certificate is not null; // the decision is Check's, after the handshake, so the peer can be told why
    }

    /// <summary>Why a certificate cannot be a member's or a client's: an authority's, or one not meant for TLS both ways.</summary>
    private static string? NotALeaf(X509Certificate2 certificate)
    {
        if (certificate.Extensions["2.5.29.19"] is X509BasicConstraintsExtension { CertificateAuthority: true })
            return "belongs to a certificate authority, not to a member or client";
        if (certificate.Extensions["2.5.29.37"] is not X509EnhancedKeyUsageExtension usage) return null;
        var oids = usage.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToHashSet();
        // Every Derecho process both accepts and dials, so it is a TLS server and a TLS client.
        return oids.Contains(AnyExtendedKeyUsage) || oids.Contains(ServerAuth) && oids.Contains(ClientAuth) ? null
            : "is not meant for both TLS server and client authentication (extended key usage 1.3.6.1.5.5.7.3.1 and .2)";
    }

    private static X509Certificate2Collection Intermediates(TlsOptions options, X509Certificate2 leaf)
    {
        var found = new X509Certificate2Collection();
        if (options.CertificatePath is not { Length: > 0 } path || !IsPem(path)) return found;
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(path);
        foreach (var certificate in all)
            if (certificate.Thumbprint != leaf.Thumbprint) found.Add(certificate);
        return found;
    }

    private static X509Certificate2 LoadCertificate(TlsOptions options, string section)
    {
        if (options.StoreThumbprint is { Length: > 0 } thumbprint) return FromStore(options, section, Normalize(thumbprint));
        if (options.CertificatePath is not { Length: > 0 } path) throw Problem(section, "CertificatePath", "set CertificatePath (PEM or PFX) or StoreThumbprint");
        if (!File.Exists(path)) throw Problem(section, "CertificatePath", $"'{path}' does not exist");
        try
        {
            if (IsPem(path))
            {
                var key = options.KeyPath is { Length: > 0 } k ? k : path;
                if (!File.Exists(key)) throw Problem(section, "KeyPath", $"'{key}' does not exist");
                return options.Password is { Length: > 0 } password
                    ? X509Certificate2.CreateFromEncryptedPemFile(path, password, key)
                    : X509Certificate2.CreateFromPemFile(path, key);
            }
            return X509CertificateLoader.LoadPkcs12FromFile(path, options.Password);
        }
        catch (CryptographicException e)
        {
            throw Problem(section, "CertificatePath", $"'{path}' cannot be loaded: {e.Message}");
        }
    }

    private static X509Certificate2 FromStore(TlsOptions options, string section, string thumbprint)
    {
        if (!Enum.TryParse<StoreLocation>(options.StoreLocation, ignoreCase: true, out var location))
            throw Problem(section, "StoreLocation", $"'{options.StoreLocation}' is neither CurrentUser nor LocalMachine");
        using var store = new X509Store(StoreName.My, location);
        store.Open(OpenFlags.ReadOnly);
        foreach (var candidate in store.Certificates)
            if (candidate.Thumbprint == thumbprint || candidate.GetCertHashString(HashAlgorithmName.SHA256) == thumbprint) return candidate;
        throw Problem(section, "StoreThumbprint", $"no certificate with thumbprint {thumbprint} in {location}/My");
    }

    private static bool IsPem(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> start = stackalloc byte[11];
        var read = file.Read(start);
        return System.Text.Encoding.ASCII.GetString(start[..read]).StartsWith("-----BEGIN", StringComparison.Ordinal);
    }

    private static bool IsThumbprint(string key) => Normalize(key) is { Length: 40 or 64 } hex && hex.All(char.IsAsciiHexDigit);

    private static string Normalize(string thumbprint) => thumbprint.Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();

    private static DerechoConfigurationException Problem(string section, string key, string problem) => new($"{section}:{key}: {problem}");
}
