using System.Buffers.Binary;

namespace Derecho.Wire;

/// <summary>
/// Writes a fixed-layout message front to back, little endian. The buffer is sized by the caller; writing past
/// its end is a bug in the encoder and throws.
/// </summary>
internal ref struct WireWriter(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;
    private int _at;

    /// <summary>Bytes written so far.</summary>
    public readonly int Written => _at;

    public void WriteByte(byte value) => _buffer[_at++] = value;

    public void WriteInt32(int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_buffer[_at..], value);
        _at += 4;
    }

    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer[_at..], value);
        _at += 4;
    }

    public void WriteInt64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_buffer[_at..], value);
        _at += 8;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer[_at..]);
        _at += bytes.Length;
    }

    /// <summary>Zero padding (the buffer may be pooled, so it is cleared rather than skipped).</summary>
    public void Pad(int count)
    {
        _buffer.Slice(_at, count).Clear();
        _at += count;
    }
}
