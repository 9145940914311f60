using System.Buffers;
using System.ComponentModel;

namespace Derecho.Rpc;

/// <summary>An <see cref="IBufferWriter{T}"/> over a pooled array, reused across calls so marshalling does not allocate.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    /// <summary>Creates a writer with an initial capacity.</summary>
    public PooledBufferWriter(int initialCapacity = 4096) => _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);

    /// <summary>Bytes written so far.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    /// <summary>Writable view of what was written, for patching headers.</summary>
    internal Span<byte> WrittenSpanMutable => _buffer.AsSpan(0, _written);

    /// <summary>Number of bytes written.</summary>
    public int WrittenCount => _written;

    /// <summary>Forgets what was written; keeps the buffer.</summary>
    public void Reset() => _written = 0;

    /// <summary>Forgets what was written after the first <paramref name="length"/> bytes.</summary>
    internal void Truncate(int length) => _written = Math.Clamp(length, 0, _written);

    /// <inheritdoc />
    public void Advance(int count)
    {
        if (count < 0 || _written + count > _buffer.Length) throw new ArgumentOutOfRangeException(nameof(count));
        _written += count;
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1) sizeHint = 256;
        if (_buffer.Length - _written >= sizeHint) return;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
