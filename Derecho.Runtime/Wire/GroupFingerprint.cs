using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace Derecho.Wire;

/// <summary>
/// What members (and external clients) must agree on to talk at all: the group name and the multicast sizes
/// (ring offsets must match). Sent in the transport's hello; a peer with another fingerprint is refused.
/// </summary>
internal static class GroupFingerprint
{
    public static ulong Of(string groupName, int ringBytes, int maxPayloadBytes) =>
        XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"group={groupName};ring={ringBytes};max={maxPayloadBytes}")));
}
