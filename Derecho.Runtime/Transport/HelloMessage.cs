using System.Buffers.Binary;

namespace Derecho.Transport;

/// <summary>What a dialling member says first: protocol version, its id, the group's fingerprint.</summary>
internal readonly record struct HelloMessage(int Version, int MemberId, ulong GroupFingerprint)
{
    public const int Size = 16;
    public const int CurrentVersion = 2; // 2: the acceptor answers Welcome or Refused

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, Version);
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], MemberId);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], GroupFingerprint);
    }

    public static HelloMessage Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadInt32LittleEndian(source),
        BinaryPrimitives.ReadInt32LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt64LittleEndian(source[8..]));
}
