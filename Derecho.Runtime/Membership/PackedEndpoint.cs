using System.Net;
using System.Net.Sockets;

namespace Derecho.Membership;

/// <summary>An IPv4 endpoint in one 64-bit SST cell: address in bits 16..47, port in bits 0..15.</summary>
internal static class PackedEndpoint
{
    /// <summary>
    /// Parses a configured "host:port" (an IPv4 address or a host name, resolved to its first IPv4 address). IPv6 is
    /// refused here, with the reason, rather than at the first join: the SST carries endpoints in one 64-bit cell.
    /// </summary>
    public static IPEndPoint Parse(string text, Func<string, Exception> problem)
    {
        if (string.IsNullOrWhiteSpace(text)) throw problem("endpoint is empty (expected host:port)");
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1) throw problem($"'{text}' is not host:port");
        var host = text[..colon];
        if (!int.TryParse(text[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port > 65535)
            throw problem($"'{text}' has an invalid port");
        if (host.StartsWith('[') || host.Contains(':') || (IPAddress.TryParse(host, out var parsed) && parsed.AddressFamily != AddressFamily.InterNetwork))
            throw problem($"'{text}' is an IPv6 endpoint; only IPv4 addresses (or host names with one) are supported, since the SST carries a member's endpoint in one 64-bit cell");
        if (parsed is not null) return new IPEndPoint(parsed, port);
        IPAddress[] addresses;
        try { addresses = Dns.GetHostAddresses(host); }
        catch (SocketException e) { throw problem($"host '{host}' cannot be resolved: {e.Message}"); }
        var v4 = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
        return v4 is null ? throw problem($"host '{host}' has no IPv4 address ({(addresses.Length == 0 ? "none at all" : string.Join(", ", addresses.Select(a => a.ToString())))})") : new IPEndPoint(v4, port);
    }

    public static long Pack(IPEndPoint endpoint)
    {
        if (endpoint.AddressFamily != AddressFamily.InterNetwork)
            throw new NotSupportedException($"joining needs an IPv4 endpoint (got {endpoint}); the SST carries a joiner's address in one 64-bit cell");
        Span<byte> bytes = stackalloc byte[4];
        endpoint.Address.TryWriteBytes(bytes, out _);
        var address = (long)bytes[0] << 24 | (long)bytes[1] << 16 | (long)bytes[2] << 8 | bytes[3];
        return address << 16 | (long)endpoint.Port;
    }

    public static IPEndPoint Unpack(long packed)
    {
        var address = (packed >> 16) & 0xFFFFFFFF;
        var bytes = new[] { (byte)(address >> 24), (byte)(address >> 16), (byte)(address >> 8), (byte)address };
        return new IPEndPoint(new IPAddress(bytes), (int)(packed & 0xFFFF));
    }
}
