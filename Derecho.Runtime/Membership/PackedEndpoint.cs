using System.Net;
using System.Net.Sockets;

namespace Derecho.Membership;

/// <summary>An IPv4 endpoint in one 64-bit SST cell: address in bits 16..47, port in bits 0..15.</summary>
internal static class PackedEndpoint
{
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
