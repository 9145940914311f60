using System.Net;

namespace Derecho.Security;

/// <summary>The safe default: plaintext only where no one else can connect.</summary>
internal static class ListenPolicy
{
    /// <summary>What is exposed when listening on <paramref name="endpoint"/> in plaintext ("listening on …"), or null for loopback.</summary>
    public static string? Insecure(IPEndPoint endpoint) =>
        IPAddress.IsLoopback(endpoint.Address) ? null : $"listening on {endpoint}, which is not a loopback address,";
}
