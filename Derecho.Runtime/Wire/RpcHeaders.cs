using System.Diagnostics;
using Derecho.Rpc;

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
    /// <summary>The member relaying the call could not see it through (it stopped, left the shard, lost its view): it may or may not have been applied.</summary>
    RelayFailed = 8,
    /// <summary>A client session's call re-sent after the replicas forgot its outcome: it may or may not have been applied, and was not applied again.</summary>
    SessionExpired = 9,
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

    /// <summary>
    /// Reserved replicated-type id of a client session's envelope: an ordered payload
    /// <c>[1 u32][client i32][sequence i64][floor i64]</c> followed by the ordered call it wraps (header and arguments).
    /// </summary>
    public const uint SessionTypeId = 1;

    public const int SessionEnvelopeSize = 24;

    /// <summary>
    /// Reserved replicated-type id of a trace envelope: an ordered payload <c>[2 u32][version u8 = 0][pad 3][trace id 16 B][span id 8 B]</c>
    /// followed by the ordered call it wraps (inside the session envelope when there is one). Only a call a listener traced has one
    /// (<see cref="Diagnostics.DerechoTracing"/>); a payload without it reads as it always did.
    /// </summary>
    public const uint TraceTypeId = 2;

    public const int TraceEnvelopeSize = 32;

    /// <summary>
    /// The W3C trace context a traced relay or P2P request carries after its arguments (flag <see cref="Traced"/> in its flags byte):
    /// <c>[trace id 16 B][parent span id 8 B][trace flags u8]</c>. Without the flag the frame ends with its arguments, as it always did.
    /// </summary>
    public const int TraceContextSize = 25;

    /// <summary>Flag of the relay and P2P headers' flags byte (byte 1): the frame ends with a trace context (<see cref="TraceContextSize"/>).</summary>
    private const byte Traced = 2;

    /// <summary>A client's relay of a call in its session: the relay header with flag <see cref="RelaySession"/>, then <c>[sequence i64][floor i64]</c>.</summary>
    public const int SessionRelayHeaderSize = RelayHeaderSize + 16;

    private const byte RelaySession = 1;

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

    /// <summary>The request id of an ordered call's payload (inside its session envelope, if any); -1 if it is too short to have one.</summary>
    public static long RequestIdOf(ReadOnlySpan<byte> payload) =>
        TryReadOrderedHeader(WithoutEnvelopes(payload), out _, out _, out var requestId, out _) ? requestId : -1;

    /// <summary>The ordered call header and arguments of a payload, past its session and trace envelopes (if any).</summary>
    public static ReadOnlySpan<byte> WithoutEnvelopes(ReadOnlySpan<byte> payload)
    {
        TryReadTraceEnvelope(WithoutSessionEnvelope(payload), out _, out var call);
        return call;
    }

    /// <summary>Writes a trace envelope (<see cref="TraceEnvelopeSize"/> bytes) in front of an ordered call header.</summary>
    public static void WriteTraceEnvelope(Span<byte> at, ActivityContext context)
    {
        var writer = new WireWriter(at);
        writer.WriteUInt32(TraceTypeId);
        writer.WriteByte(0); // version
        writer.WriteByte((byte)context.TraceFlags);
        writer.Pad(2);
        context.TraceId.CopyTo(at.Slice(8, 16));
        context.SpanId.CopyTo(at.Slice(24, 8));
    }

    /// <summary>
    /// Reads the trace envelope in front of an ordered call (after the session envelope, if any): its context and the call it
    /// wraps; false (the call as given, a default context) if it has none or one of an unknown version.
    /// </summary>
    public static bool TryReadTraceEnvelope(ReadOnlySpan<byte> call, out ActivityContext context, out ReadOnlySpan<byte> inner)
    {
        context = default;
        inner = call;
        if (call.Length < TraceEnvelopeSize || new WireReader(call).ReadUInt32() != TraceTypeId || call[4] != 0) return false;
        context = ReadContext(call.Slice(8, 16), call.Slice(24, 8), call[5]);
        inner = call[TraceEnvelopeSize..];
        return true;
    }

    /// <summary>Marks a relay or P2P request (its header at the start of <paramref name="request"/>) traced and appends the trace context after its arguments.</summary>
    public static void AppendTraceContext(PooledBufferWriter request, ActivityContext context)
    {
        request.WrittenSpanMutable[1] |= Traced;
        var at = request.GetSpan(TraceContextSize);
        context.TraceId.CopyTo(at[..16]);
        context.SpanId.CopyTo(at.Slice(16, 8));
        at[24] = (byte)context.TraceFlags;
        request.Advance(TraceContextSize);
    }

    /// <summary>
    /// The length of a relay or P2P request without its trace context, and the context (default when the frame is not traced);
    /// -1 when the flag says there is one but the frame is shorter than <paramref name="headerSize"/> and a context.
    /// </summary>
    public static int WithoutTraceContext(ReadOnlySpan<byte> message, int headerSize, out ActivityContext context)
    {
        context = default;
        if (message.Length < 2 || (message[1] & Traced) == 0) return message.Length;
        if (message.Length < headerSize + TraceContextSize) return -1;
        var trailer = message[^TraceContextSize..];
        context = ReadContext(trailer[..16], trailer.Slice(16, 8), trailer[24]);
        return message.Length - TraceContextSize;
    }

    private static ActivityContext ReadContext(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, byte flags) =>
        new(ActivityTraceId.CreateFromBytes(traceId), ActivitySpanId.CreateFromBytes(spanId), (ActivityTraceFlags)(flags & 1), isRemote: true);

    /// <summary>Writes a session envelope in front of an ordered call header (at <paramref name="at"/>, <see cref="SessionEnvelopeSize"/> bytes).</summary>
    public static void WriteSessionEnvelope(Span<byte> at, ClientSession session)
    {
        var writer = new WireWriter(at);
        writer.WriteUInt32(SessionTypeId);
        writer.WriteInt32(session.Client);
        writer.WriteInt64(session.Sequence);
        writer.WriteInt64(session.Floor);
    }

    /// <summary>Reads an ordered payload's session envelope; false if it has none, or one too short or with a negative number.</summary>
    public static bool TryReadSessionEnvelope(ReadOnlySpan<byte> payload, out ClientSession session, out ReadOnlySpan<byte> call)
    {
        var reader = new WireReader(payload);
        var type = reader.ReadUInt32();
        session = new ClientSession(reader.ReadInt32(), reader.ReadInt64(), reader.ReadInt64());
        var valid = reader.Ok && type == SessionTypeId && session.Sequence >= 0 && session.Floor >= 0;
        call = valid ? payload[SessionEnvelopeSize..] : payload; // an invalid envelope reads as a call of type 1, which no shard has
        return valid;
    }

    /// <summary>The ordered call inside a session envelope, or the payload itself when it has none.</summary>
    public static ReadOnlySpan<byte> WithoutSessionEnvelope(ReadOnlySpan<byte> payload) =>
        payload.Length >= SessionEnvelopeSize && new WireReader(payload).ReadUInt32() == SessionTypeId ? payload[SessionEnvelopeSize..] : payload;

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
        return reader.Ok && ticks >= 0 && ticks <= DateTime.MaxValue.Ticks && (flags & ~(P2PFailFast | Traced)) == 0;
    }

    private const byte P2PFailFast = 1;

    /// <summary>Turns a request buffer's reserved header into a relay header.</summary>
    public static void WriteRelayHeader(Span<byte> at, uint typeId, int shard, uint methodId, long clientRequest) =>
        WriteCallHeader(at, MessageKind.Relay, typeId, shard, methodId, clientRequest);

    public static bool TryReadRelayHeader(ReadOnlySpan<byte> message, out uint typeId, out int shard, out uint methodId, out long clientRequest) =>
        TryReadCallHeader(message, out typeId, out shard, out methodId, out clientRequest);

    /// <summary>Turns a client's request buffer's reserved header (<see cref="SessionRelayHeaderSize"/> bytes) into a relay header in its session.</summary>
    public static void WriteSessionRelayHeader(Span<byte> at, uint typeId, int shard, uint methodId, long clientRequest, long sequence, long floor)
    {
        WriteCallHeader(at, MessageKind.Relay, typeId, shard, methodId, clientRequest);
        at[1] = RelaySession;
        var writer = new WireWriter(at[RelayHeaderSize..]);
        writer.WriteInt64(sequence);
        writer.WriteInt64(floor);
    }

    /// <summary>
    /// Where a relay's arguments begin and, for a call in a client session, its sequence and floor (<paramref name="sequence"/>
    /// -1 without one); false if the flags are unknown or the session part is cut short or negative.
    /// </summary>
    public static bool TryReadRelaySession(ReadOnlySpan<byte> message, out long sequence, out long floor, out int argumentsAt)
    {
        (sequence, floor, argumentsAt) = (-1, -1, RelayHeaderSize);
        if (message.Length < RelayHeaderSize || (message[1] & ~(RelaySession | Traced)) != 0) return false;
        if ((message[1] & RelaySession) == 0) return true;
        if (message.Length < SessionRelayHeaderSize) return false;
        var reader = new WireReader(message[RelayHeaderSize..]);
        (sequence, floor, argumentsAt) = (reader.ReadInt64(), reader.ReadInt64(), SessionRelayHeaderSize);
        return sequence >= 0 && floor >= 0 && floor <= sequence;
    }

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

/// <summary>
/// Where an ordered call stands in its client's session: the client, the call's sequence number, and the floor (every
/// call of the client below it has its outcome; the replicas may forget them).
/// </summary>
internal readonly record struct ClientSession(int Client, long Sequence, long Floor);
