using System.Buffers.Binary;
using System.Numerics;

namespace Derecho.Persistence;

/// <summary>
/// CRC-32C (Castagnoli), the checksum storage systems use, computed with the CPU's CRC32 instruction
/// through <see cref="BitOperations.Crc32C(uint, ulong)"/> (System.IO.Hashing 10 has only the IEEE CRC-32).
/// </summary>
internal static class Crc32C
{
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        return crc;
    }
}
