namespace Derecho.Security;

/// <summary>
/// Mutual TLS for every connection of a member or client (section <c>Derecho:Tls</c>). This process's own
/// certificate comes from PEM files, a PFX file or the X.509 store; peers are trusted when issued by
/// <see cref="TrustedCaPath"/> or pinned by thumbprint. Each certificate names whom it belongs to: a member id
/// or a client name, as a SAN URI (<c>derecho://member/3</c>, <c>derecho://client/ingest</c>) or through
/// <see cref="Identities"/>; no process can claim another's id.
/// </summary>
public sealed class TlsOptions
{
    /// <summary>This process's certificate: a PEM file (with <see cref="KeyPath"/>) or a PFX/PKCS#12 file.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of <see cref="CertificatePath"/> (omit when the PEM file holds the key too, or for PFX).</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of a PFX file or of an encrypted PEM key.</summary>
    public string? Password { get; set; }

    /// <summary>Instead of a file: the SHA-1 or SHA-256 thumbprint of a certificate (with its key) in the X.509 store "My".</summary>
    public string? StoreThumbprint { get; set; }

    /// <summary>Store location for <see cref="StoreThumbprint"/>: "CurrentUser" (default) or "LocalMachine".</summary>
    public string StoreLocation { get; set; } = "CurrentUser";

    /// <summary>PEM file of the certificate authorities whose certificates are trusted (only these; not the system store).</summary>
    public string? TrustedCaPath { get; set; }

    /// <summary>SHA-256 (or SHA-1) thumbprints of peer certificates trusted as they are, whoever issued them.</summary>
    public List<string> PinnedThumbprints { get; set; } = new();

    /// <summary>
    /// Identities of certificates that carry none: subject (e.g. "CN=node3") or thumbprint, mapped to "member:3"
    /// or "client:ingest". An entry here wins over the certificate's SAN URI.
    /// </summary>
    public Dictionary<string, string> Identities { get; set; } = new();
}
