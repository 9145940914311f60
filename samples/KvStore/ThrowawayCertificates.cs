using Derecho.Security;

namespace Derecho.Samples.KvStore;

/// <summary>A certificate authority made for one run, and PEM files for each member and the client, signed by it.</summary>
internal static class ThrowawayCertificates
{
    /// <summary>Writes ca.pem, member-ID.pem/.key and client-NAME.pem/.key into <paramref name="folder"/>; returns the folder.</summary>
    public static string Create(string folder, int members, string clientName)
    {
        Directory.CreateDirectory(folder);
        using var authority = DerechoCertificates.CreateAuthority("derecho-kvstore-demo", TimeSpan.FromDays(1));
        DerechoCertificates.WritePem(authority, Path.Combine(folder, "ca.pem"));
        for (var id = 0; id < members; id++)
        {
            using var member = DerechoCertificates.IssueMember(authority, id, TimeSpan.FromDays(1));
            DerechoCertificates.WritePem(member, Path.Combine(folder, $"member-{id}.pem"), Path.Combine(folder, $"member-{id}.key"));
        }
        using var client = DerechoCertificates.IssueClient(authority, clientName, TimeSpan.FromDays(1));
        DerechoCertificates.WritePem(client, Path.Combine(folder, $"client-{clientName}.pem"), Path.Combine(folder, $"client-{clientName}.key"));
        return folder;
    }
}
