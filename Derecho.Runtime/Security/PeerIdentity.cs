namespace Derecho.Security;

/// <summary>What a peer may be: a member (joins, writes its SST row, multicasts) or an external client (calls only).</summary>
internal enum PeerRole
{
    /// <summary>A member of the group, with its id.</summary>
    Member,
    /// <summary>An external client, with its name.</summary>
    Client,
}

/// <summary>Whom a certificate belongs to: member <see cref="MemberId"/>, or client <see cref="ClientName"/>.</summary>
internal readonly record struct PeerIdentity(PeerRole Role, int MemberId, string ClientName)
{
    /// <summary>The identity of member <paramref name="id"/>.</summary>
    public static PeerIdentity Member(int id) => new(PeerRole.Member, id, "");

    /// <summary>The identity of client <paramref name="name"/>.</summary>
    public static PeerIdentity Client(string name) => new(PeerRole.Client, -1, name);

    /// <summary>As a SAN URI: <c>derecho://member/3</c> or <c>derecho://client/ingest</c>.</summary>
    public string ToUri() => Role == PeerRole.Member ? $"derecho://member/{MemberId}" : $"derecho://client/{Uri.EscapeDataString(ClientName)}";

    /// <summary>Reads "member:3", "client:ingest" or the SAN URI form; null when it is neither.</summary>
    public static PeerIdentity? Parse(string text)
    {
        var t = text.Trim();
        string? rest;
        if ((rest = After(t, "derecho://member/") ?? After(t, "member:")) is not null)
            return int.TryParse(rest, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && PeerIds.IsMember(id)
                ? Member(id) : null;
        if ((rest = After(t, "derecho://client/") ?? After(t, "client:")) is not null)
            return rest.Length > 0 ? Client(Uri.UnescapeDataString(rest)) : null;
        return null;
    }

    /// <inheritdoc />
    public override string ToString() => Role == PeerRole.Member ? $"member {MemberId}" : $"client '{ClientName}'";

    private static string? After(string text, string prefix) => text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? text[prefix.Length..] : null;
}

/// <summary>
/// Peer ids on the wire: members have configured ids below <see cref="FirstClientId"/>; an external client picks a
/// random id at or above it. The range tells every receiver which role a connection claims.
/// </summary>
internal static class PeerIds
{
    /// <summary>The lowest id of an external client; member ids are below it.</summary>
    public const int FirstClientId = 1 << 30;

    /// <summary>Whether <paramref name="id"/> can be a member's.</summary>
    public static bool IsMember(int id) => id is >= 0 and < FirstClientId;

    /// <summary>Whether <paramref name="id"/> is an external client's.</summary>
    public static bool IsClient(int id) => id >= FirstClientId;
}
