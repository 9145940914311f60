using System.Buffers.Binary;

namespace Derecho.Tests.Support;

/// <summary>Member-to-member frames built by hand, for tests that play a (broken or late) peer on a raw socket.</summary>
internal static class RawFrames
{
    public const byte Hello = 1;
    public const byte Write = 2;
    public const byte Message = 3;

    public static byte[] HelloFrom(int memberId, ulong fingerprint, int version = Derecho.Transport.HelloMessage.CurrentVersion)
    {
        var body = new byte[16];
        BinaryPrimitives.WriteInt32LittleEndian(body, version);
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(4), memberId);
        BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(8), fingerprint);
        return Frame(Hello, 0, 16, 0, body);
    }

    public static byte[] MessageOf(byte[] payload) => Frame(Message, 0, payload.Length, 0, payload);

    /// <summary>A one-sided write of <paramref name="payload"/> at <paramref name="offset"/> of a region of view <paramref name="epoch"/>.</summary>
    public static byte[] WriteTo(byte region, int epoch, int offset, byte[] payload)
    {
        var frame = Frame(Write, region, payload.Length, offset, payload);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(12), epoch);
        return frame;
    }

    /// <summary>Any frame: magic, type, region, length, then offset and epoch as one little-endian 64-bit word.</summary>
    public static byte[] Frame(byte type, byte region, int length, long offset, byte[] payload)
    {
        var frame = new byte[16 + payload.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(frame, 0xDE12);
        frame[2] = type;
        frame[3] = region;
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(4), length);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(8), offset);
        payload.CopyTo(frame, 16);
        return frame;
    }
}
