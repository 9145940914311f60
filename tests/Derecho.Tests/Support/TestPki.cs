using System.Security.Cryptography.X509Certificates;
using Derecho.Security;

namespace Derecho.Tests.Support;

/// <summary>A throwaway certificate authority and PEM files for members and clients, in a temporary folder.</summary>
internal sealed class TestPki : IDisposable
{
    private readonly TemporaryDirectory _folder = new();

    public TestPki(string name = "derecho-test-ca")
    {
        Authority = DerechoCertificates.CreateAuthority(name);
        AuthorityPath = Path.Combine(_folder.Path, "ca.pem");
        DerechoCertificates.WritePem(Authority, AuthorityPath);
    }

    public X509Certificate2 Authority { get; }

    public string AuthorityPath { get; }

    /// <summary>The folder of ca.pem and of every member-ID.pem/.key and client-NAME.pem/.key written so far.</summary>
    public string Folder => _folder.Path;

    /// <summary>TLS options of member <paramref name="id"/>: its own certificate, trusting this authority (the folder layout samples read).</summary>
    public TlsOptions Member(int id) => Written(DerechoCertificates.MemberTls(Folder, id), DerechoCertificates.IssueMember(Authority, id));

    /// <summary>TLS options of client <paramref name="name"/>.</summary>
    public TlsOptions Client(string name) => Written(DerechoCertificates.ClientTls(Folder, name), DerechoCertificates.IssueClient(Authority, name));

    /// <summary>Options for <paramref name="certificate"/> (any certificate, e.g. expired or from another authority), trusting this authority.</summary>
    public TlsOptions Options(string file, X509Certificate2 certificate) => Written(new TlsOptions
    {
        CertificatePath = Path.Combine(_folder.Path, $"{file}.pem"),
        KeyPath = Path.Combine(_folder.Path, $"{file}.key"),
        TrustedCaPath = AuthorityPath,
    }, certificate);

    private static TlsOptions Written(TlsOptions paths, X509Certificate2 certificate)
    {
        DerechoCertificates.WritePem(certificate, paths.CertificatePath!, paths.KeyPath);
        return paths;
    }

    public void Dispose() => _folder.Dispose();
}
