using System.Buffers.Binary;

namespace Derecho.Transport;

/// <summary>What a dialling member says first: protocol version, its id, the group's fingerprint.</summary>
internal readonly record struct HelloMessage(int Version, int MemberId, ulong GroupFingerprint)
{
    public const int Size = 16;
    // 2: the acceptor answers Welcome or Refused. 3: the P2P header carries flags and a read time (32 bytes), relayed
    // calls a session part, ordered calls may be wrapped in session and trace envelopes, requests may carry a trace
    // context: a version-2 process would misread them, so the two refuse each other at the hello, saying why.
    public const int CurrentVersion = 3;

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
