using System.Buffers.Binary;

namespace Derecho.Rpc;

/// <summary>Kinds of two-sided RPC message.</summary>
internal enum RpcMessageKind : byte
{
    P2PRequest = 1,
    Reply = 2,
}

/// <summary>How a call ended on the member that ran it.</summary>
internal enum ReplyStatus : byte
{
    Ok = 0,
    HandlerFailed = 1,
    UnknownMethod = 2,
    MalformedRequest = 3,
    /// <summary>The replica was loading the shard's state and did not apply the call; it reaches it with the state.</summary>
    NotApplied = 4,
}

/// <summary>
/// Byte layouts of RPC headers, little endian.
/// Ordered call (multicast payload): [type u32][method u32][request i64][sender's UTC ticks i64][arguments].
/// P2P request (message):  [kind u8][pad 3][type u32][method u32][shard i32][request i64][arguments].
/// Reply (message):        [kind u8][status u8][pad 2][member i32][request i64][result or UTF-8 error].
/// </summary>
internal static class RpcWire
{
    public const int OrderedHeaderSize = 24;
    public const int P2PHeaderSize = 24;
    public const int ReplyHeaderSize = 16;

    public static void WriteOrderedHeader(Span<byte> at, uint typeId, uint methodId, long requestId, long utcTicks)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(at, typeId);
        BinaryPrimitives.WriteUInt32LittleEndian(at[4..], methodId);
        BinaryPrimitives.WriteInt64LittleEndian(at[8..], requestId);
        BinaryPrimitives.WriteInt64LittleEndian(at[16..], utcTicks);
    }

    public static bool TryReadOrderedHeader(ReadOnlySpan<byte> message, out uint typeId, out uint methodId, out long requestId, out long utcTicks)
    {
        typeId = methodId = 0;
        requestId = utcTicks = 0;
        if (message.Length < OrderedHeaderSize) return false;
        typeId = BinaryPrimitives.ReadUInt32LittleEndian(message);
        methodId = BinaryPrimitives.ReadUInt32LittleEndian(message[4..]);
        requestId = BinaryPrimitives.ReadInt64LittleEndian(message[8..]);
        utcTicks = BinaryPrimitives.ReadInt64LittleEndian(message[16..]);
        return true;
    }

    /// <summary>The request id inside an ordered-call payload (for matching re-sent calls); -1 if it has no header.</summary>
    public static long RequestIdOf(ReadOnlySpan<byte> payload) =>
        TryReadOrderedHeader(payload, out _, out _, out var requestId, out _) ? requestId : -1;

    public static void WriteP2PHeader(Span<byte> at, uint typeId, int shard, uint methodId, long requestId)
    {
        at[..8].Clear();
        at[0] = (byte)RpcMessageKind.P2PRequest;
        BinaryPrimitives.WriteUInt32LittleEndian(at[4..], typeId);
        BinaryPrimitives.WriteUInt32LittleEndian(at[8..], methodId);
        BinaryPrimitives.WriteInt32LittleEndian(at[12..], shard);
        BinaryPrimitives.WriteInt64LittleEndian(at[16..], requestId);
    }

    public static bool TryReadP2PHeader(ReadOnlySpan<byte> message, out uint typeId, out int shard, out uint methodId, out long requestId)
    {
        typeId = methodId = 0;
        shard = 0;
        requestId = 0;
        if (message.Length < P2PHeaderSize) return false;
        typeId = BinaryPrimitives.ReadUInt32LittleEndian(message[4..]);
        methodId = BinaryPrimitives.ReadUInt32LittleEndian(message[8..]);
        shard = BinaryPrimitives.ReadInt32LittleEndian(message[12..]);
        requestId = BinaryPrimitives.ReadInt64LittleEndian(message[16..]);
        return true;
    }

    public static void WriteReplyHeader(Span<byte> at, ReplyStatus status, int memberId, long requestId)
    {
        at[0] = (byte)RpcMessageKind.Reply;
        at[1] = (byte)status;
        at[2] = at[3] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(at[4..], memberId);
        BinaryPrimitives.WriteInt64LittleEndian(at[8..], requestId);
    }

    public static bool TryReadReplyHeader(ReadOnlySpan<byte> message, out ReplyStatus status, out int memberId, out long requestId)
    {
        status = default;
        memberId = 0;
        requestId = 0;
        if (message.Length < ReplyHeaderSize) return false;
        status = (ReplyStatus)message[1];
        memberId = BinaryPrimitives.ReadInt32LittleEndian(message[4..]);
        requestId = BinaryPrimitives.ReadInt64LittleEndian(message[8..]);
        return true;
    }
}
