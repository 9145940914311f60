using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Derecho.Security;

/// <summary>Reads the Derecho identity a certificate carries: a configured mapping first, else its SAN URI.</summary>
internal static class CertificateIdentity
{
    private const string SubjectAlternativeNameOid = "2.5.29.17";

    /// <summary>
    /// The identity, or null with <paramref name="problem"/> saying why there is none. A mapping by thumbprint wins;
    /// then the SAN URI the authority put in; a mapping by subject only for a certificate without one (a subject is
    /// often chosen by whoever asked for the certificate, so it must not turn a client into a member).
    /// </summary>
    public static PeerIdentity? Of(X509Certificate2 certificate, IReadOnlyDictionary<string, string> mapping, out string? problem)
    {
        problem = null;
        var byThumbprint = Mapped(mapping, certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256), ref problem)
            ?? Mapped(mapping, certificate.Thumbprint, ref problem);
        if (byThumbprint is not null || problem is not null) return byThumbprint;
        foreach (var uri in SanUris(certificate))
            if (PeerIdentity.Parse(uri) is { } carried) return carried;
        var bySubject = Mapped(mapping, certificate.Subject, ref problem);
        if (bySubject is not null || problem is not null) return bySubject;
        problem = "it carries no Derecho identity (a SAN URI derecho://member/<id> or derecho://client/<name>, or an entry in Derecho:Tls:Identities)";
        return null;
    }

    private static PeerIdentity? Mapped(IReadOnlyDictionary<string, string> mapping, string key, ref string? problem)
    {
        if (!mapping.TryGetValue(key, out var mapped)) return null;
        if (PeerIdentity.Parse(mapped) is { } configured) return configured;
        problem = $"Derecho:Tls:Identities maps it to '{mapped}', which is neither member:<id> nor client:<name>";
        return null;
    }

    private static List<string> SanUris(X509Certificate2 certificate)
    {
        var extension = certificate.Extensions[SubjectAlternativeNameOid];
        if (extension is null) return [];
        var uris = new List<string>();
        try
        {
            var names = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
            var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6); // GeneralName uniformResourceIdentifier [6] IA5String
            while (names.HasData)
            {
                if (names.PeekTag() == uriTag) uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
                else names.ReadEncodedValue();
            }
        }
        catch (AsnContentException) { } // a malformed extension carries no identity
        return uris;
    }
}
