using System.Buffers.Binary;
using System.Text;

namespace Derecho.Wire;

/// <summary>One trigger event of a batch, its arguments a slice of the batch message.</summary>
internal readonly record struct TriggerEvent(uint TypeId, uint MethodId, int Shard, int Offset, int Length);

/// <summary>Encoding and decoding of trigger batches and their acknowledgements (layouts at <see cref="MessageKind.TriggerBatch"/>, <see cref="MessageKind.TriggerAck"/>).</summary>
internal static class TriggerMessages
{
    /// <summary><c>[kind][pad 3][count i32][batch i64]</c>.</summary>
    public const int BatchHeaderSize = 16;

    /// <summary><c>[type u32][method u32][shard i32][length i32]</c>, in front of each event's arguments.</summary>
    public const int EventHeaderSize = 16;

    private const int AckHeaderSize = 16;

    /// <summary>Writes an event's header into the space a request buffer reserved; <paramref name="event"/> is header and arguments.</summary>
    public static void WriteEventHeader(Span<byte> @event, uint typeId, uint methodId, int shard)
    {
        var writer = new WireWriter(@event);
        writer.WriteUInt32(typeId);
        writer.WriteUInt32(methodId);
        writer.WriteInt32(shard);
        writer.WriteInt32(@event.Length - EventHeaderSize);
    }

    public static void WriteBatchHeader(Span<byte> at, int count, long batch)
    {
        var writer = new WireWriter(at);
        writer.WriteByte((byte)MessageKind.TriggerBatch);
        writer.Pad(3);
        writer.WriteInt32(count);
        writer.WriteInt64(batch);
    }

    /// <summary>
    /// Reads a batch's header and events (offsets into <paramref name="message"/>); false if it is cut short, has bytes
    /// left over, or counts fewer than zero events or argument bytes. <paramref name="batch"/> is read whenever the header is whole.
    /// </summary>
    public static bool TryReadBatch(ReadOnlySpan<byte> message, out long batch, out TriggerEvent[] events)
    {
        events = [];
        batch = 0;
        if (message.Length < BatchHeaderSize) return false;
        var count = BinaryPrimitives.ReadInt32LittleEndian(message[4..]);
        batch = BinaryPrimitives.ReadInt64LittleEndian(message[8..]);
        // Every event takes at least its header: a count the message cannot hold is malformed, not an allocation.
        if (count < 0 || count > (message.Length - BatchHeaderSize) / EventHeaderSize) return false;
        var read = new TriggerEvent[count];
        var at = BatchHeaderSize;
        for (var i = 0; i < count; i++)
        {
            if (message.Length - at < EventHeaderSize) return false;
            var header = message.Slice(at, EventHeaderSize);
            var length = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
            at += EventHeaderSize;
            if (length < 0 || length > message.Length - at) return false;
            read[i] = new TriggerEvent(BinaryPrimitives.ReadUInt32LittleEndian(header), BinaryPrimitives.ReadUInt32LittleEndian(header[4..]),
                BinaryPrimitives.ReadInt32LittleEndian(header[8..]), at, length);
            at += length;
        }
        if (at != message.Length) return false;
        events = read;
        return true;
    }

    public static byte[] Ack(long batch, ReplyStatus status, int accepted, string? reason = null)
    {
        var bytes = new byte[AckHeaderSize + (reason is null ? 0 : Encoding.UTF8.GetByteCount(reason))];
        var writer = new WireWriter(bytes);
        writer.WriteByte((byte)MessageKind.TriggerAck);
        writer.WriteByte((byte)status);
        writer.Pad(2);
        writer.WriteInt32(accepted);
        writer.WriteInt64(batch);
        if (reason is not null) Encoding.UTF8.GetBytes(reason, bytes.AsSpan(AckHeaderSize));
        return bytes;
    }

    public static bool TryReadAck(ReadOnlySpan<byte> message, out long batch, out ReplyStatus status, out string reason)
    {
        var reader = new WireReader(message);
        reader.Skip(1); // kind
        status = (ReplyStatus)reader.ReadByte();
        reader.Skip(2);
        reader.ReadInt32(); // accepted: all or none, the status says which
        batch = reader.ReadInt64();
        reason = reader.Ok ? Encoding.UTF8.GetString(reader.ReadRest()) : "";
        return reader.Ok;
    }
}
