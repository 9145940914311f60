using System.Runtime.InteropServices;

namespace Derecho.Transport;

/// <summary>
/// A block of unmanaged, pinned, 64-byte-aligned memory that a transport may copy remote writes into.
/// Unmanaged so the address never moves: RDMA and shared memory transports register the same block.
/// </summary>
internal sealed unsafe class NativeRegion : IDisposable
{
    private byte* _pointer;

    /// <summary>Allocates <paramref name="length"/> zeroed bytes.</summary>
    public NativeRegion(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        Length = length;
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, 64);
        NativeMemory.Clear(_pointer, (nuint)length);
    }

    /// <summary>Size in bytes.</summary>
    public long Length { get; }

    /// <summary>Start address; valid until disposed.</summary>
    public byte* Pointer => _pointer != null ? _pointer : throw new ObjectDisposedException(nameof(NativeRegion));

    /// <summary>A span over part of the region.</summary>
    public Span<byte> Slice(long offset, int length)
    {
        if ((ulong)offset + (ulong)length > (ulong)Length) throw new ArgumentOutOfRangeException(nameof(offset));
        return new Span<byte>(Pointer + offset, length);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_pointer == null) return;
        NativeMemory.AlignedFree(_pointer);
        _pointer = null;
    }
}
