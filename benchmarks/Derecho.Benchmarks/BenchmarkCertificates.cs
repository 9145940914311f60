using Derecho.Security;

namespace Derecho.Benchmarks;

/// <summary>A throwaway authority and a certificate per member (and one client) for the TLS runs of the benchmarks.</summary>
internal static class BenchmarkCertificates
{
    public const string ClientName = "bench-client";

    /// <summary>Writes ca.pem, member-ID.pem/.key and client-bench-client.pem/.key into a new temporary folder.</summary>
    public static string Create(int members)
    {
        var folder = Directory.CreateTempSubdirectory("derecho-bench-tls-").FullName;
        using var authority = DerechoCertificates.CreateAuthority("derecho-benchmark", TimeSpan.FromDays(1));
        DerechoCertificates.WritePem(authority, Path.Combine(folder, "ca.pem"));
        for (var id = 0; id < members; id++)
        {
            using var member = DerechoCertificates.IssueMember(authority, id, TimeSpan.FromDays(1));
            DerechoCertificates.WritePem(member, Path.Combine(folder, $"member-{id}.pem"), Path.Combine(folder, $"member-{id}.key"));
        }
        using var client = DerechoCertificates.IssueClient(authority, ClientName, TimeSpan.FromDays(1));
        DerechoCertificates.WritePem(client, Path.Combine(folder, $"client-{ClientName}.pem"), Path.Combine(folder, $"client-{ClientName}.key"));
        return folder;
    }

    public static TlsOptions Member(string folder, int id) => new()
    {
        CertificatePath = Path.Combine(folder, $"member-{id}.pem"),
        KeyPath = Path.Combine(folder, $"member-{id}.key"),
        TrustedCaPath = Path.Combine(folder, "ca.pem"),
    };

    public static TlsOptions Client(string folder) => new()
    {
        CertificatePath = Path.Combine(folder, $"client-{ClientName}.pem"),
        KeyPath = Path.Combine(folder, $"client-{ClientName}.key"),
        TrustedCaPath = Path.Combine(folder, "ca.pem"),
    };

    /// <summary>Member <paramref name="id"/>'s credentials, for the raw multicast group.</summary>
    public static TlsCredentials Load(string folder, int id) => TlsCredentials.Load(Member(folder, id), "benchmark", _ => null, trustedBySelf: true);
}
