using Derecho.Transport;

namespace Derecho.Fuzz.Targets;

/// <summary>The transport reads a fixed-size header or hello, so a shorter input is not one it could be given.</summary>
internal static class TransportTargets
{
    public static void FrameHeader(ReadOnlySpan<byte> input)
    {
        if (input.Length < Transport.FrameHeader.Size) return;
        _ = Transport.FrameHeader.TryRead(input[..Transport.FrameHeader.Size], out _);
    }

    public static void Hello(ReadOnlySpan<byte> input)
    {
        if (input.Length < HelloMessage.Size) return;
        _ = HelloMessage.Read(input[..HelloMessage.Size]);
    }
}
