using System.Buffers.Binary;

namespace Derecho.Persistence;

/// <summary>
/// One record of a persistent log: a 32-byte header [magic u32][payload length i32][version i64]
/// [timestamp ticks i64][crc32c u32][flags u32], then the payload. The CRC covers the header (with the
/// CRC field zero) and the payload, so a torn or flipped byte anywhere is caught.
/// </summary>
internal static class LogRecord
{
    public const int HeaderSize = 32;
    public const uint Magic = 0x474C5244; // "DRLG"

    public static void WriteHeader(Span<byte> header, ReadOnlySpan<byte> payload, long version, long ticks, uint flags)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], version);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], ticks);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header[28..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], Checksum(header, payload));
    }

    public static uint Checksum(ReadOnlySpan<byte> headerWithZeroCrc, ReadOnlySpan<byte> payload)
    {
        Span<byte> copy = stackalloc byte[HeaderSize];
        headerWithZeroCrc[..HeaderSize].CopyTo(copy);
        BinaryPrimitives.WriteUInt32LittleEndian(copy[24..], 0);
        return ~Crc32C.Append(Crc32C.Append(uint.MaxValue, copy), payload);
    }

    public readonly record struct Header(int Length, long Version, long Ticks, uint Crc, uint Flags);

    public static bool TryReadHeader(ReadOnlySpan<byte> bytes, out Header header)
    {
        header = default;
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic) return false;
        header = new Header(BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]), BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]), BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..]), BinaryPrimitives.ReadUInt32LittleEndian(bytes[28..]));
        return header.Length >= 0;
    }
}
