using System.IO.Hashing;
using System.Numerics;
using System.Text;

namespace Derecho.Layout;

/// <summary>
/// Hash codes that are the same in every process, on every platform and .NET version, for ordered handlers
/// that hash: <c>string.GetHashCode</c> and <c>System.HashCode</c> are seeded randomly per process, so two
/// replicas would disagree (the DER0010 code fix rewrites them to these).
/// </summary>
public static class StableHash
{
    private const uint Prime1 = 2654435761U, Prime2 = 2246822519U, Prime3 = 3266489917U;

    /// <summary>XxHash64 of the UTF-8 bytes of <paramref name="value"/>, folded to 32 bits.</summary>
    public static int Of(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Span<byte> stack = stackalloc byte[256];
        var length = Encoding.UTF8.GetByteCount(value);
        var bytes = length <= stack.Length ? stack[..length] : new byte[length];
        Encoding.UTF8.GetBytes(value, bytes);
        return Of(bytes);
    }

    /// <summary>XxHash64 of <paramref name="bytes"/>, folded to 32 bits.</summary>
    public static int Of(ReadOnlySpan<byte> bytes)
    {
        var hash = XxHash64.HashToUInt64(bytes);
        return unchecked((int)(hash ^ (hash >> 32)));
    }

    /// <summary>Combines like <c>HashCode.Combine</c>, without its per-process seed; see <see cref="Combine{T1, T2}"/>.</summary>
    public static int Combine<T1>(T1 value1) => Finish(Mix(0, value1), 1);

    /// <summary>
    /// Combines like <c>HashCode.Combine</c>, without its per-process seed. Strings are hashed with
    /// <see cref="Of(string)"/>, null as 0, anything else by its own <c>GetHashCode</c>: stable for numbers,
    /// enums, and types whose hash is built from those, not for types that keep object's identity hash.
    /// </summary>
    public static int Combine<T1, T2>(T1 value1, T2 value2) => Finish(Mix(Mix(0, value1), value2), 2);

    /// <inheritdoc cref="Combine{T1, T2}"/>
    public static int Combine<T1, T2, T3>(T1 value1, T2 value2, T3 value3) => Finish(Mix(Mix(Mix(0, value1), value2), value3), 3);

    /// <inheritdoc cref="Combine{T1, T2}"/>
    public static int Combine<T1, T2, T3, T4>(T1 value1, T2 value2, T3 value3, T4 value4) =>
        Finish(Mix(Mix(Mix(Mix(0, value1), value2), value3), value4), 4);

    /// <inheritdoc cref="Combine{T1, T2}"/>
    public static int Combine<T1, T2, T3, T4, T5>(T1 value1, T2 value2, T3 value3, T4 value4, T5 value5) =>
        Finish(Mix(Mix(Mix(Mix(Mix(0, value1), value2), value3), value4), value5), 5);

    /// <inheritdoc cref="Combine{T1, T2}"/>
    public static int Combine<T1, T2, T3, T4, T5, T6>(T1 value1, T2 value2, T3 value3, T4 value4, T5 value5, T6 value6) =>
        Finish(Mix(Mix(Mix(Mix(Mix(Mix(0, value1), value2), value3), value4), value5), value6), 6);

    // An xxHash32 round per value; Finish is its avalanche, so nearby inputs spread over all 32 bits.
    private static uint Mix<T>(uint hash, T value)
    {
        var part = value switch
        {
            null => 0,
            string text => Of(text),
            _ => value.GetHashCode(),
        };
        return BitOperations.RotateLeft(hash + unchecked((uint)part * Prime2), 13) * Prime1;
    }

    private static int Finish(uint hash, int count)
    {
        hash += (uint)count * 4;
        hash ^= hash >> 15;
        hash *= Prime2;
        hash ^= hash >> 13;
        hash *= Prime3;
        hash ^= hash >> 16;
        return unchecked((int)hash);
    }
}
