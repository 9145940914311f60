using System.Buffers.Binary;

namespace Derecho.Wire;

/// <summary>
/// Reads a fixed-layout message front to back, little endian, never past its end: a read that does not fit
/// marks the message malformed and returns zero (or an empty span), so a decoder reads every field and checks
/// <see cref="Ok"/> (or <see cref="AtEnd"/>) once. A peer that lies costs a log line, never an exception.
/// </summary>
internal ref struct WireReader(ReadOnlySpan<byte> message)
{
    private readonly ReadOnlySpan<byte> _message = message;
    private int _at;
    private bool _malformed;

    /// <summary>Every read so far fitted.</summary>
    public readonly bool Ok => !_malformed;

    /// <summary>Every read fitted and the message is used up (for a message of exactly known length).</summary>
    public readonly bool AtEnd => !_malformed && _at == _message.Length;

    /// <summary>Bytes not read yet (0 once malformed).</summary>
    public readonly int Remaining => _malformed ? 0 : _message.Length - _at;

    /// <summary>Marks the message malformed: a field's value is out of range.</summary>
    public void Fail() => _malformed = true;

    public byte ReadByte() => Take(1) is { IsEmpty: false } bytes ? bytes[0] : (byte)0;

    public int ReadInt32() => Take(4) is { IsEmpty: false } bytes ? BinaryPrimitives.ReadInt32LittleEndian(bytes) : 0;

    public uint ReadUInt32() => Take(4) is { IsEmpty: false } bytes ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : 0;

    public long ReadInt64() => Take(8) is { IsEmpty: false } bytes ? BinaryPrimitives.ReadInt64LittleEndian(bytes) : 0;

    /// <summary>The next <paramref name="count"/> bytes (a negative count is malformed).</summary>
    public ReadOnlySpan<byte> ReadBytes(int count) => Take(count);

    /// <summary>Everything not read yet.</summary>
    public ReadOnlySpan<byte> ReadRest() => Take(Remaining);

    /// <summary>Padding or a field the decoder ignores.</summary>
    public void Skip(int count) => Take(count);

    private ReadOnlySpan<byte> Take(int count)
    {
        if (_malformed || count < 0 || count > _message.Length - _at)
        {
            _malformed = true;
            return default;
        }
        var bytes = _message.Slice(_at, count);
        _at += count;
        return bytes;
    }
}
