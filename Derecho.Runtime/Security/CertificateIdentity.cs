using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Derecho.Security;

/// <summary>Reads the Derecho identity a certificate carries: a configured mapping first, else its SAN URI.</summary>
internal static class CertificateIdentity
{
    private const string SubjectAlternativeNameOid = "2.5.29.17";

    /// <summary>The identity, or null with <paramref name="problem"/> saying why there is none.</summary>
    public static PeerIdentity? Of(X509Certificate2 certificate, IReadOnlyDictionary<string, string> mapping, out string? problem)
    {
        problem = null;
        foreach (var key in new[] { certificate.Subject, certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256), certificate.Thumbprint })
        {
            if (!mapping.TryGetValue(key, out var mapped)) continue;
            if (PeerIdentity.Parse(mapped) is { } configured) return configured;
            problem = $"Derecho:Tls:Identities maps it to '{mapped}', which is neither member:<id> nor client:<name>";
            return null;
        }
        foreach (var uri in SanUris(certificate))
            if (PeerIdentity.Parse(uri) is { } carried) return carried;
        problem = "it carries no Derecho identity (a SAN URI derecho://member/<id> or derecho://client/<name>, or an entry in Derecho:Tls:Identities)";
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
