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

    private TlsCredentials(X509Certificate2 certificate, X509Certificate2Collection authorities, HashSet<string> pinned,
        IReadOnlyDictionary<string, string> identities, PeerIdentity local)
    {
        Certificate = certificate;
        _context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
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
        var identities = options.Identities.ToDictionary(e => e.Key.Length is 40 or 64 ? Normalize(e.Key) : e.Key, e => e.Value, StringComparer.OrdinalIgnoreCase);
        var draft = new TlsCredentials(certificate, authorities, pinned, identities, default);
        var (local, refusal) = draft.CheckCertificate(certificate, trustedBySelf);
        if (local is not { } identity) throw Problem(section, "CertificatePath", $"this process's own certificate would be refused by its peers: {refusal}");
        if (expected(identity) is { } mismatch) throw Problem(section, "CertificatePath", mismatch);
        return new TlsCredentials(certificate, authorities, pinned, identities, identity);
    }

    /// <summary>Options for the accepting side: TLS 1.3, a client certificate required (checked by <see cref="Check"/>).</summary>
    public SslServerAuthenticationOptions ServerOptions() => new()
    {
        ServerCertificateContext = _context,
        ClientCertificateRequired = true,
        EnabledSslProtocols = SslProtocols.Tls13,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null,
    };

    /// <summary>Options for the dialling side: our certificate always offered, the server's checked by <see cref="Check"/>.</summary>
    public SslClientAuthenticationOptions ClientOptions(int peer) => new()
    {
        TargetHost = $"derecho-{peer}",
        ClientCertificateContext = _context,
        EnabledSslProtocols = SslProtocols.Tls13,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null,
    };

    /// <summary>Whom <paramref name="presented"/> belongs to, or why it is refused (untrusted, expired, no identity).</summary>
    public (PeerIdentity? Identity, string? Refusal) Check(X509Certificate? presented) => CheckCertificate(presented, checkTrust: true);

    private (PeerIdentity? Identity, string? Refusal) CheckCertificate(X509Certificate? presented, bool checkTrust)
    {
        if (presented is null) return (null, "no certificate was presented");
        if (presented is not X509Certificate2 certificate) return (null, "the certificate presented cannot be read");
        var name = $"certificate '{certificate.Subject}' (SHA-256 {certificate.GetCertHashString(HashAlgorithmName.SHA256)[..16]}…)";
        var now = DateTime.Now;
        if (now < certificate.NotBefore) return (null, $"{name} is not valid before {certificate.NotBefore.ToUniversalTime():u}");
        if (now > certificate.NotAfter) return (null, $"{name} expired on {certificate.NotAfter.ToUniversalTime():u}");
        if (checkTrust && !IsPinned(certificate) && Untrusted(certificate) is { } why) return (null, $"{name} is not trusted: {why}");
        var identity = CertificateIdentity.Of(certificate, _identities, out var problem);
        return identity is null ? (null, $"{name} is refused: {problem}") : (identity, null);
    }

    private bool IsPinned(X509Certificate2 certificate) =>
        _pinned.Contains(certificate.GetCertHashString(HashAlgorithmName.SHA256)) || _pinned.Contains(certificate.Thumbprint);

    private string? Untrusted(X509Certificate2 certificate)
    {
        if (_authorities.Count == 0) return "it is not pinned in PinnedThumbprints (and no TrustedCaPath is set)";
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain.Build(certificate)) return null;
        var status = chain.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}").Distinct();
        return $"not issued by an authority in TrustedCaPath ({string.Join("; ", status)})";
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

    private static string Normalize(string thumbprint) => thumbprint.Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();

    private static DerechoConfigurationException Problem(string section, string key, string problem) => new($"{section}:{key}: {problem}");
}
