using Derecho.Security;

namespace Derecho.Benchmarks;

/// <summary>A throwaway authority and a certificate per member (and one client) for the TLS runs of the benchmarks.</summary>
internal static class BenchmarkCertificates
{
    public const string ClientName = "bench-client";

    /// <summary>A new temporary folder laid out by <see cref="DerechoCertificates.WriteFolder"/>.</summary>
    public static string Create(int members)
    {
        var folder = Directory.CreateTempSubdirectory("derecho-bench-tls-").FullName;
        DerechoCertificates.WriteFolder(folder, "derecho-benchmark", members, [ClientName], TimeSpan.FromDays(1));
        return folder;
    }

    /// <summary>Member <paramref name="id"/>'s credentials, for the raw multicast group.</summary>
    public static TlsCredentials Load(string folder, int id) =>
        TlsCredentials.Load(DerechoCertificates.MemberTls(folder, id), "benchmark", _ => null, trustedBySelf: true);
}
