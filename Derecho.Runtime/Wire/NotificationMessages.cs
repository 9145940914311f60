using System.Buffers.Binary;
using System.Text;

namespace Derecho.Wire;

/// <summary>Why a member ended a subscription (the reason byte of <see cref="MessageKind.SubscriptionEnded"/>).</summary>
internal enum SubscriptionEnd : byte
{
    /// <summary>This member does not hold the shard (any more), is loading its state, or is closing: subscribe at another member.</summary>
    NotHeld = 1,
    /// <summary>This member no longer retains (or never had) the notifications right after the requested position.</summary>
    Gap = 2,
    /// <summary>The subscriber fell more than MaxNotificationLag behind and was cut off.</summary>
    Lagged = 3,
    /// <summary>The client may not use the replicated type (Derecho:AuthorizedClients).</summary>
    Unauthorized = 4,
    /// <summary>The request made no sense (an unknown type or shard, a bad topic).</summary>
    Refused = 5,
}

/// <summary>Encoding and decoding of subscriptions and notifications (layouts at <see cref="MessageKind"/>).</summary>
internal static class NotificationMessages
{
    /// <summary>Longest topic, in UTF-8 bytes.</summary>
    public const int MaxTopicBytes = 256;

    public const int SubscribeHeaderSize = 32;
    public const int BatchHeaderSize = 16;
    public const int EntryHeaderSize = 28;
    private const int EndedHeaderSize = 16;

    /// <summary>"From the oldest notification the member retains": the position of a subscription that asks for no particular one.</summary>
    public const long Oldest = -1;

    public static byte[] Subscribe(long subscription, uint typeId, int shard, long afterVersion, int afterIndex, string? topic)
    {
        var topicBytes = topic is null ? 0 : Encoding.UTF8.GetByteCount(topic);
        var bytes = new byte[SubscribeHeaderSize + topicBytes];
        var writer = new WireWriter(bytes);
        writer.WriteByte((byte)MessageKind.Subscribe);
        writer.WriteByte(topic is null ? (byte)0 : (byte)1);
        writer.Pad(2);
        writer.WriteUInt32(typeId);
        writer.WriteInt32(shard);
        writer.WriteInt32(afterIndex);
        writer.WriteInt64(subscription);
        writer.WriteInt64(afterVersion);
        if (topic is not null) Encoding.UTF8.GetBytes(topic, bytes.AsSpan(SubscribeHeaderSize));
        return bytes;
    }

    public static bool TryReadSubscribe(ReadOnlySpan<byte> message, out long subscription, out uint typeId, out int shard, out long afterVersion, out int afterIndex,
        out string? topic)
    {
        var reader = new WireReader(message);
        reader.Skip(1);
        var hasTopic = reader.ReadByte();
        reader.Skip(2);
        typeId = reader.ReadUInt32();
        shard = reader.ReadInt32();
        afterIndex = reader.ReadInt32();
        subscription = reader.ReadInt64();
        afterVersion = reader.ReadInt64();
        var rest = reader.ReadRest();
        topic = null;
        if (!reader.Ok || hasTopic > 1 || (hasTopic == 0 && !rest.IsEmpty) || rest.Length > MaxTopicBytes) return false;
        if (hasTopic == 1)
        {
            try { topic = new UTF8Encoding(false, true).GetString(rest); }
            catch (DecoderFallbackException) { return false; }
        }
        return true;
    }

    /// <summary>Writes a batch's header at the start of <paramref name="into"/> (once its entries are written and counted).</summary>
    public static void WriteBatchHeader(Span<byte> into, long subscription, int count)
    {
        into[0] = (byte)MessageKind.Notification;
        into[1..4].Clear();
        BinaryPrimitives.WriteInt32LittleEndian(into[4..], count);
        BinaryPrimitives.WriteInt64LittleEndian(into[8..], subscription);
    }

    /// <summary>Bytes one entry takes in a batch.</summary>
    public static int EntrySize(int topicBytes, int payloadBytes) => EntryHeaderSize + topicBytes + payloadBytes;

    /// <summary>Writes one entry; <paramref name="into"/> has <see cref="EntrySize"/> bytes.</summary>
    public static void WriteEntry(Span<byte> into, long version, int index, long ticks, ReadOnlySpan<byte> topic, ReadOnlySpan<byte> payload)
    {
        var writer = new WireWriter(into);
        writer.WriteInt64(version);
        writer.WriteInt64(ticks);
        writer.WriteInt32(index);
        writer.WriteInt32(topic.Length);
        writer.WriteInt32(payload.Length);
        writer.WriteBytes(topic);
        writer.WriteBytes(payload);
    }

    /// <summary>Reads a batch; each entry's topic and payload point into <paramref name="message"/>. False if it is malformed in any way.</summary>
    public static bool TryReadBatch(ReadOnlyMemory<byte> message, out long subscription, out RawNotification[] entries)
    {
        entries = [];
        var span = message.Span;
        if (span.Length < BatchHeaderSize) { subscription = 0; return false; }
        var count = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
        subscription = BinaryPrimitives.ReadInt64LittleEndian(span[8..]);
        if (count < 0 || count > (span.Length - BatchHeaderSize) / EntryHeaderSize) return false;
        entries = new RawNotification[count];
        var at = BatchHeaderSize;
        var strict = new UTF8Encoding(false, true);
        for (var i = 0; i < count; i++)
        {
            if (span.Length - at < EntryHeaderSize) return false;
            var version = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
            var ticks = BinaryPrimitives.ReadInt64LittleEndian(span[(at + 8)..]);
            var index = BinaryPrimitives.ReadInt32LittleEndian(span[(at + 16)..]);
            var topicBytes = BinaryPrimitives.ReadInt32LittleEndian(span[(at + 20)..]);
            var payloadBytes = BinaryPrimitives.ReadInt32LittleEndian(span[(at + 24)..]);
            at += EntryHeaderSize;
            if (topicBytes < 0 || payloadBytes < 0 || topicBytes > MaxTopicBytes || (long)topicBytes + payloadBytes > span.Length - at
                || ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks) return false;
            string topic;
            try { topic = strict.GetString(span.Slice(at, topicBytes)); }
            catch (DecoderFallbackException) { return false; }
            entries[i] = new RawNotification(version, index, ticks, topic, message.Slice(at + topicBytes, payloadBytes));
            at += topicBytes + payloadBytes;
        }
        return at == span.Length;
    }

    public static byte[] Unsubscribe(long subscription)
    {
        var bytes = new byte[16];
        bytes[0] = (byte)MessageKind.Unsubscribe;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), subscription);
        return bytes;
    }

    public static bool TryReadUnsubscribe(ReadOnlySpan<byte> message, out long subscription)
    {
        subscription = message.Length == 16 ? BinaryPrimitives.ReadInt64LittleEndian(message[8..]) : 0;
        return message.Length == 16;
    }

    public static byte[] Ended(long subscription, SubscriptionEnd reason, int memberId, string why)
    {
        var bytes = new byte[EndedHeaderSize + Encoding.UTF8.GetByteCount(why)];
        var writer = new WireWriter(bytes);
        writer.WriteByte((byte)MessageKind.SubscriptionEnded);
        writer.WriteByte((byte)reason);
        writer.Pad(2);
        writer.WriteInt32(memberId);
        writer.WriteInt64(subscription);
        Encoding.UTF8.GetBytes(why, bytes.AsSpan(EndedHeaderSize));
        return bytes;
    }

    public static bool TryReadEnded(ReadOnlySpan<byte> message, out long subscription, out SubscriptionEnd reason, out int memberId, out string why)
    {
        var reader = new WireReader(message);
        reader.Skip(1);
        reason = (SubscriptionEnd)reader.ReadByte();
        reader.Skip(2);
        memberId = reader.ReadInt32();
        subscription = reader.ReadInt64();
        why = reader.Ok ? Encoding.UTF8.GetString(reader.ReadRest()) : "";
        return reader.Ok && Enum.IsDefined(reason);
    }
}

/// <summary>One notification as it arrives at a client, its payload still MemoryPack bytes.</summary>
internal readonly record struct RawNotification(long Version, int Index, long Ticks, string Topic, ReadOnlyMemory<byte> Payload)
{
    public bool IsAfter(long version, int index) => Version > version || (Version == version && Index > index);
}
