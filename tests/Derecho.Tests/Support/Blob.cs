using Derecho.Rpc;

namespace Derecho.Tests.Support;

/// <summary>A replicated type whose state is as large as a test asks (1 MB pieces of seeded random bytes), for state transfer tests.</summary>
[Replicated]
[MemoryPack.MemoryPackable]
public partial class Blob
{
    [MemoryPack.MemoryPackInclude] private List<byte[]> _pieces = new();

    /// <summary>Adds <paramref name="megabytes"/> pieces, each the same at every replica; returns the piece count.</summary>
    [Ordered]
    public int Grow(int megabytes, int seed)
    {
        for (var i = 0; i < megabytes; i++)
        {
            var piece = GC.AllocateUninitializedArray<byte>(1 << 20);
            new Random(seed * 100_003 + _pieces.Count).NextBytes(piece);
            _pieces.Add(piece);
        }
        return _pieces.Count;
    }

    /// <summary>[bytes held, XxHash64 of them in order].</summary>
    [P2PCallable]
    public long[] Digest()
    {
        var hash = new System.IO.Hashing.XxHash64();
        long bytes = 0;
        foreach (var piece in _pieces)
        {
            hash.Append(piece);
            bytes += piece.Length;
        }
        return [bytes, (long)hash.GetCurrentHashAsUInt64()];
    }
}
