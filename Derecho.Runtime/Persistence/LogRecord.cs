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

    /// <summary>
    /// Writes a whole record into <paramref name="destination"/> (<see cref="HeaderSize"/> + payload bytes): the header,
    /// the payload after it, and the CRC over both as they lie there, in one pass over contiguous memory.
    /// </summary>
    public static void Write(Span<byte> destination, ReadOnlySpan<byte> payload, long version, long ticks, uint flags)
    {
        var record = destination[..(HeaderSize + payload.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(record, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(record[4..], payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(record[8..], version);
        BinaryPrimitives.WriteInt64LittleEndian(record[16..], ticks);
        BinaryPrimitives.WriteUInt32LittleEndian(record[24..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(record[28..], flags);
        payload.CopyTo(record[HeaderSize..]);
        BinaryPrimitives.WriteUInt32LittleEndian(record[24..], ~Crc32C.Append(uint.MaxValue, record));
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
