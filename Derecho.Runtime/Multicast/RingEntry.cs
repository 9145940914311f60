using System.Buffers.Binary;

namespace Derecho.Multicast;

/// <summary>Kinds of entry in a sender's slot ring.</summary>
internal enum RingEntryKind : int
{
    /// <summary>An application message.</summary>
    Data = 1,
    /// <summary>A null message: takes a place in the round-robin order, delivers nothing.</summary>
    Null = 2,
    /// <summary>Padding: the next entry starts at the beginning of the ring.</summary>
    Wrap = 3,
}

/// <summary>
/// Layout of a sender's ring: entries of [length u32][kind u32][index i64][payload, padded to 8 bytes].
/// Entries never straddle the end of the ring; a Wrap entry (or a tail shorter than a header) sends the
/// reader back to offset 0. Sender and receivers share this one parser so they cannot disagree.
/// </summary>
internal static unsafe class RingEntry
{
    public const int HeaderSize = 16;

    public static int SizeOf(int payloadLength) => HeaderSize + ((payloadLength + 7) & ~7);

    public static void WriteHeader(byte* at, int payloadLength, RingEntryKind kind, long index)
    {
        var header = new Span<byte>(at, HeaderSize);
        BinaryPrimitives.WriteInt32LittleEndian(header, payloadLength);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], (int)kind);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], index);
    }

    /// <summary>Skips wrap padding so that <paramref name="cursor"/> points at a real entry.</summary>
    public static void SkipToEntry(byte* ring, long capacity, ref long cursor)
    {
        var offset = cursor % capacity;
        if (capacity - offset < HeaderSize) { cursor += capacity - offset; return; }
        var kind = (RingEntryKind)BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(ring + offset + 4, 4));
        if (kind == RingEntryKind.Wrap) cursor += capacity - offset;
    }

    /// <summary>Reads the entry at <paramref name="cursor"/> (after wrap padding) and advances past it.</summary>
    public static RingEntryKind Read(byte* ring, long capacity, ref long cursor, long expectedIndex, out ReadOnlySpan<byte> payload)
    {
        SkipToEntry(ring, capacity, ref cursor);
        var offset = cursor % capacity;
        var header = new ReadOnlySpan<byte>(ring + offset, HeaderSize);
        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        var kind = (RingEntryKind)BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        var index = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        if (index != expectedIndex || kind is not (RingEntryKind.Data or RingEntryKind.Null) || length < 0 || offset + SizeOf(length) > capacity)
            throw new InvalidDataException(
                $"ring entry at offset {offset} is corrupt: kind {(int)kind}, index {index} (expected {expectedIndex}), length {length}");
        payload = new ReadOnlySpan<byte>(ring + offset + HeaderSize, length);
        cursor += SizeOf(length);
        return kind;
    }
}
