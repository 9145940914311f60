using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Derecho.Persistence;

/// <summary>
/// CRC-32C (Castagnoli), the checksum storage systems use, computed with the CPU's CRC32 instruction
/// through <see cref="BitOperations.Crc32C(uint, ulong)"/> (System.IO.Hashing 10 has only the IEEE CRC-32).
/// Eight bytes an instruction, four instructions a loop turn, no bounds checks: the log computes it over every
/// byte it writes, on the delivery thread.
/// </summary>
internal static class Crc32C
{
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        ref var start = ref MemoryMarshal.GetReference(data);
        nuint length = (nuint)data.Length, at = 0;
        for (; at + 32 <= length; at += 32)
        {
            crc = BitOperations.Crc32C(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, at)));
            crc = BitOperations.Crc32C(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, at + 8)));
            crc = BitOperations.Crc32C(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, at + 16)));
            crc = BitOperations.Crc32C(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, at + 24)));
        }
        for (; at + 8 <= length; at += 8) crc = BitOperations.Crc32C(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, at)));
        for (; at < length; at++) crc = BitOperations.Crc32C(crc, Unsafe.Add(ref start, at));
        return crc;
    }
}
