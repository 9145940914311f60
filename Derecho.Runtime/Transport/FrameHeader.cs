using System.Buffers.Binary;

namespace Derecho.Transport;

/// <summary>Kinds of frame on a member-to-member TCP connection.</summary>
internal enum FrameType : byte
{
    /// <summary>First frame on every connection: who is dialling and for which group.</summary>
    Hello = 1,
    /// <summary>One-sided write: copy the payload into the dialler's region at an offset.</summary>
    Write = 2,
    /// <summary>Two-sided message handed to the receiver's message handler (P2P calls, replies).</summary>
    Message = 3,
    /// <summary>The acceptor's answer to a hello: accepted, frames may follow.</summary>
    Welcome = 4,
    /// <summary>Either side during the handshake: refused, and why (UTF-8); the connection closes after it.</summary>
    Refused = 5,
}

/// <summary>
/// The 16-byte header in front of every frame: magic, type, region, length, offset, epoch (little endian).
/// The magic catches a stream that lost framing or a stranger speaking another protocol; the epoch (the
/// view a write belongs to) lets a receiver drop writes of a view it has already left.
/// </summary>
internal readonly record struct FrameHeader(FrameType Type, byte Region, int Length, int Offset, int Epoch = 0)
{
    public const int Size = 16;
    public const ushort Magic = 0xDE12;

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, Magic);
        destination[2] = (byte)Type;
        destination[3] = Region;
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], Length);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], Offset);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], Epoch);
    }

    /// <summary>Parses a header; returns a reason when the bytes cannot be a frame of ours.</summary>
    public static string? TryRead(ReadOnlySpan<byte> source, out FrameHeader header)
    {
        header = default;
        var magic = BinaryPrimitives.ReadUInt16LittleEndian(source);
        if (magic != Magic) return $"bad frame magic 0x{magic:X4} (expected 0x{Magic:X4})";
        var type = (FrameType)source[2];
        if (type is not (FrameType.Hello or FrameType.Write or FrameType.Message or FrameType.Welcome or FrameType.Refused))
            return $"unknown frame type {source[2]}";
        var length = BinaryPrimitives.ReadInt32LittleEndian(source[4..]);
        var offset = BinaryPrimitives.ReadInt32LittleEndian(source[8..]);
        var epoch = BinaryPrimitives.ReadInt32LittleEndian(source[12..]);
        if (length < 0) return $"negative frame length {length}";
        if (offset < 0) return $"negative write offset {offset}";
        if (epoch < 0) return $"negative epoch {epoch}";
        header = new FrameHeader(type, source[3], length, offset, epoch);
        return null;
    }
}
