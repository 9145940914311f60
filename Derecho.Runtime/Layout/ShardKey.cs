using System.IO.Hashing;
using System.Text;

namespace Derecho.Layout;

/// <summary>
/// Maps a key to a shard with XxHash64, the same in every process and on every platform and .NET version
/// (<c>string.GetHashCode</c> is randomized per process, so it must never route).
/// </summary>
public static class ShardKey
{
    /// <summary>The shard of <paramref name="key"/> among <paramref name="shards"/> shards.</summary>
    public static int ShardOf(ReadOnlySpan<byte> key, int shards)
    {
        if (shards < 1) throw new ArgumentOutOfRangeException(nameof(shards), "a subgroup has at least one shard");
        return (int)(XxHash64.HashToUInt64(key) % (ulong)shards);
    }

    /// <summary>The shard of a string key (hashed as UTF-8).</summary>
    public static int ShardOf(string key, int shards)
    {
        ArgumentNullException.ThrowIfNull(key);
        Span<byte> stack = stackalloc byte[256];
        var length = Encoding.UTF8.GetByteCount(key);
        var bytes = length <= stack.Length ? stack[..length] : new byte[length];
        Encoding.UTF8.GetBytes(key, bytes);
        return ShardOf(bytes, shards);
    }

    /// <summary>The shard of an integer key.</summary>
    public static int ShardOf(long key, int shards)
    {
        Span<byte> bytes = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes, key);
        return ShardOf(bytes, shards);
    }
}
