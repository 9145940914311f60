namespace Derecho.Wire;

/// <summary>How a call ended on the member that ran it.</summary>
internal enum ReplyStatus : byte
{
    Ok = 0,
    HandlerFailed = 1,
    UnknownMethod = 2,
    MalformedRequest = 3,
    /// <summary>The replica was loading the shard's state and did not apply the call; it reaches it with the state.</summary>
    NotApplied = 4,
    /// <summary>The caller may not make this call (a client outside Derecho:AuthorizedClients for the type); nothing was applied.</summary>
    Unauthorized = 5,
    /// <summary>The member's trigger queue is full: the batch was refused, nothing was queued.</summary>
    Overloaded = 6,
    /// <summary>A P2P call at a time asked to fail fast, and the shard's stable time frontier had not passed that time here.</summary>
    NotYetStable = 7,
}

/// <summary>
/// Byte layouts of RPC headers, written into the space a request buffer reserves in front of the arguments.
/// Ordered call (multicast payload, no kind byte): <c>[type u32][method u32][request i64][sender's UTC ticks i64][arguments]</c>.
/// P2P request, relay and reply: see <see cref="MessageKind.P2PRequest"/>, <see cref="MessageKind.Relay"/>, <see cref="MessageKind.Reply"/>.
/// </summary>
internal static class RpcHeaders
{
    /// <summary>Reserved replicated-type id of the time barrier (an ordered no-op that moves a shard's stable time frontier).</summary>
    public const uint TimeBarrierTypeId = 0;

    public const int OrderedHeaderSize = 24;
    public const int P2PHeaderSize = 32;
    public const int RelayHeaderSize = 24;
    public const int ReplyHeaderSize = 16;

    public static void WriteOrderedHeader(Span<byte> at, uint typeId, uint methodId, long requestId, long utcTicks)
    {
        var writer = new WireWriter(at);
        writer.WriteUInt32(typeId);
        writer.WriteUInt32(methodId);
        writer.WriteInt64(requestId);
        writer.WriteInt64(utcTicks);
    }

    public static bool TryReadOrderedHeader(ReadOnlySpan<byte> message, out uint typeId, out uint methodId, out long requestId, out long utcTicks)
    {
        var reader = new WireReader(message);
        typeId = reader.ReadUInt32();
        methodId = reader.ReadUInt32();
        requestId = reader.ReadInt64();
        utcTicks = reader.ReadInt64();
        return reader.Ok;
    }

    /// <summary>The request id of an ordered call's payload; -1 if it is too short to have one.</summary>
    public static long RequestIdOf(ReadOnlySpan<byte> payload) =>
        TryReadOrderedHeader(payload, out _, out _, out var requestId, out _) ? requestId : -1;

    public static void WriteP2PHeader(Span<byte> at, uint typeId, int shard, uint methodId, long requestId, ReadTime readAt = default)
    {
        WriteCallHeader(at, MessageKind.P2PRequest, typeId, shard, methodId, requestId);
        at[1] = readAt.FailFast ? P2PFailFast : (byte)0;
        new WireWriter(at[RelayHeaderSize..]).WriteInt64(readAt.Ticks);
    }

    public static bool TryReadP2PHeader(ReadOnlySpan<byte> message, out uint typeId, out int shard, out uint methodId, out long requestId) =>
        TryReadCallHeader(message, out typeId, out shard, out methodId, out requestId) && message.Length >= P2PHeaderSize;

    /// <summary>When a P2P request reads: now, or at a time (its flags byte and the ticks after the call header).</summary>
    public static bool TryReadP2PReadTime(ReadOnlySpan<byte> message, out ReadTime readAt)
    {
        var reader = new WireReader(message);
        reader.Skip(1); // kind
        var flags = reader.ReadByte();
        reader.Skip(RelayHeaderSize - 2);
        var ticks = reader.ReadInt64();
        readAt = new ReadTime(ticks, (flags & P2PFailFast) != 0);
        return reader.Ok && ticks >= 0 && ticks <= DateTime.MaxValue.Ticks && (flags & ~P2PFailFast) == 0;
    }

    private const byte P2PFailFast = 1;

    /// <summary>Turns a request buffer's reserved header into a relay header.</summary>
    public static void WriteRelayHeader(Span<byte> at, uint typeId, int shard, uint methodId, long clientRequest) =>
        WriteCallHeader(at, MessageKind.Relay, typeId, shard, methodId, clientRequest);

    public static bool TryReadRelayHeader(ReadOnlySpan<byte> message, out uint typeId, out int shard, out uint methodId, out long clientRequest) =>
        TryReadCallHeader(message, out typeId, out shard, out methodId, out clientRequest);

    public static void WriteReplyHeader(Span<byte> at, ReplyStatus status, int memberId, long requestId)
    {
        var writer = new WireWriter(at);
        writer.WriteByte((byte)MessageKind.Reply);
        writer.WriteByte((byte)status);
        writer.Pad(2);
        writer.WriteInt32(memberId);
        writer.WriteInt64(requestId);
    }

    public static bool TryReadReplyHeader(ReadOnlySpan<byte> message, out ReplyStatus status, out int memberId, out long requestId)
    {
        var reader = new WireReader(message);
        reader.Skip(1); // kind
        status = (ReplyStatus)reader.ReadByte();
        reader.Skip(2);
        memberId = reader.ReadInt32();
        requestId = reader.ReadInt64();
        return reader.Ok;
    }

    /// <summary>The P2P and relay header: <c>[kind][pad 3][type u32][method u32][shard i32][request i64]</c>.</summary>
    private static void WriteCallHeader(Span<byte> at, MessageKind kind, uint typeId, int shard, uint methodId, long requestId)
    {
        var writer = new WireWriter(at);
        writer.WriteByte((byte)kind);
        writer.Pad(3);
        writer.WriteUInt32(typeId);
        writer.WriteUInt32(methodId);
        writer.WriteInt32(shard);
        writer.WriteInt64(requestId);
    }

    private static bool TryReadCallHeader(ReadOnlySpan<byte> message, out uint typeId, out int shard, out uint methodId, out long requestId)
    {
        var reader = new WireReader(message);
        reader.Skip(4); // kind, pad 3
        typeId = reader.ReadUInt32();
        methodId = reader.ReadUInt32();
        shard = reader.ReadInt32();
        requestId = reader.ReadInt64();
        return reader.Ok;
    }
}
