using Derecho.Rpc;
using Derecho.Wire;

namespace Derecho.Tests.Wire;

/// <summary>
/// The wire format is a contract between members of different builds: these encodings are pinned byte for byte
/// (they were produced by the hand-written encoders Wire replaced), decoders round-trip them, and no malformed
/// message (cut short, lying counts, random bytes) makes a decoder throw.
/// </summary>
public class WireFormatTests
{
    private static readonly (int Id, long Endpoint)[] Members = [(1, 0x1122334455667788), (-5, -1), (7, 42)];
    private static readonly byte[] LayoutBytes = [9, 8, 7];
    private static readonly RawReply[] Replies = [new(1, ReplyStatus.Ok, [1, 2, 3]), new(2, ReplyStatus.NotApplied, []), new(3, ReplyStatus.HandlerFailed, [0xFF])];

    [Fact]
    public void Join_messages_keep_their_bytes()
    {
        Assert.Equal("10000000030000000807060504030201", Hex(JoinMessages.JoinRequest(3, 0x0102030405060708)));
        Assert.Equal("12000000FEFFFFFF6300000000000000", Hex(JoinMessages.JoinAck(-2, 99)));
        Assert.Equal("110000000C000000220000000000000003000000"
                     + "01000000000000008877665544332211" + "FBFFFFFF00000000FFFFFFFFFFFFFFFF" + "07000000000000002A00000000000000" + "090807",
            Hex(JoinMessages.ViewProposal(12, 34, Members, LayoutBytes)));
        Assert.Equal("13000000000000000011223344556677", Hex(JoinMessages.JoinCommit(0x7766554433221100)));
        Assert.Equal("150000006E6F706520C3A9", Hex(JoinMessages.JoinRefused("nope é")));
        Assert.Equal("16000000EFBEADDE02000000000000004D00000000000000676F6E65", Hex(StateTransferMessages.ShardStateUnavailable(0xDEADBEEF, 2, 77, "gone")));
    }

    [Fact]
    public void Client_messages_keep_their_bytes()
    {
        Assert.Equal("20000000050000000600000000000000", Hex(ClientMessages.Hello(5, 6)));
        Assert.Equal("23000000030000000D0C0B0A00000000"
                     + "010000000000000003000000010203" + "020000000400000000000000" + "030000000100000001000000FF",
            Hex(ClientMessages.RelayResult(0x0A0B0C0D, Replies)));
        Assert.Equal("23000000000000000100000000000000", Hex(ClientMessages.RelayResult(1, [])));
    }

    /// <summary>Two events (one with no arguments) packed into a batch, as a sender builds it.</summary>
    private static byte[] TriggerBatch()
    {
        byte[] first = [.. new byte[TriggerMessages.EventHeaderSize], 0xAA, 0xBB], second = new byte[TriggerMessages.EventHeaderSize];
        TriggerMessages.WriteEventHeader(first, 0x01020304, 0x05060708, 2);
        TriggerMessages.WriteEventHeader(second, 0x11121314, 0x15161718, -1);
        byte[] batch = [.. new byte[TriggerMessages.BatchHeaderSize], .. first, .. second];
        TriggerMessages.WriteBatchHeader(batch, 2, 0x0102030405060708);
        return batch;
    }

    [Fact]
    public void Trigger_messages_keep_their_bytes_and_round_trip()
    {
        var batch = TriggerBatch();
        Assert.Equal("2400000002000000" + "0807060504030201"
                     + "04030201" + "08070605" + "02000000" + "02000000" + "AABB"
                     + "14131211" + "18171615" + "FFFFFFFF" + "00000000", Hex(batch));
        Assert.True(TriggerMessages.TryReadBatch(batch, out var id, out var events));
        Assert.Equal(0x0102030405060708, id);
        Assert.Equal([new TriggerEvent(0x01020304, 0x05060708, 2, 32, 2), new TriggerEvent(0x11121314, 0x15161718, -1, 50, 0)], events);

        var ack = TriggerMessages.Ack(-9, ReplyStatus.Overloaded, 3, "full");
        Assert.Equal("25060000" + "03000000" + "F7FFFFFFFFFFFFFF" + "66756C6C", Hex(ack));
        Assert.True(TriggerMessages.TryReadAck(ack, out var acked, out var status, out var reason));
        Assert.Equal((-9L, ReplyStatus.Overloaded, "full"), (acked, status, reason));
    }

    [Fact]
    public void Malformed_trigger_batches_are_rejected()
    {
        AllPrefixesRejected(TriggerBatch(), m => TriggerMessages.TryReadBatch(m, out _, out _));
        AllPrefixesRejected(TriggerMessages.Ack(1, ReplyStatus.Ok, 1), m => TriggerMessages.TryReadAck(m, out _, out _, out _));
        Assert.False(TriggerMessages.TryReadBatch([.. TriggerBatch(), 0], out _, out _)); // trailing bytes
        var lying = TriggerBatch();
        BitConverter.TryWriteBytes(lying.AsSpan(4), int.MaxValue); // more events than the bytes could hold: no allocation, no exception
        Assert.False(TriggerMessages.TryReadBatch(lying, out _, out _));
        BitConverter.TryWriteBytes(lying.AsSpan(4), -1);
        Assert.False(TriggerMessages.TryReadBatch(lying, out _, out _));
        var negative = TriggerBatch();
        BitConverter.TryWriteBytes(negative.AsSpan(28), -2); // an event's argument length
        Assert.False(TriggerMessages.TryReadBatch(negative, out _, out _));
    }

    [Fact]
    public void Rpc_headers_keep_their_bytes_and_clear_their_padding()
    {
        var header = Dirty(24);
        RpcHeaders.WriteOrderedHeader(header, 0x01020304, 0x05060708, 0x1112131415161718, 0x2122232425262728);
        Assert.Equal("040302010807060518171615141312112827262524232221", Hex(header));
        header = Dirty(32);
        RpcHeaders.WriteP2PHeader(header, 0xA1A2A3A4, -3, 0xB1B2B3B4, 0x0102030405060708);
        Assert.Equal("01000000A4A3A2A1B4B3B2B1FDFFFFFF0807060504030201" + "0000000000000000", Hex(header));
        header = Dirty(32);
        RpcHeaders.WriteP2PHeader(header, 1, 2, 3, 4, new ReadTime(0x0A0B0C0D0E0F1011, FailFast: true));
        Assert.Equal("010100000100000003000000020000000400000000000000" + "11100F0E0D0C0B0A", Hex(header));
        header = Dirty(24);
        RpcHeaders.WriteRelayHeader(header, 0xA1A2A3A4, 4, 0xB1B2B3B4, 77);
        Assert.Equal("22000000A4A3A2A1B4B3B2B1040000004D00000000000000", Hex(header));
        header = Dirty(24);
        RpcHeaders.WriteReplyHeader(header, ReplyStatus.MalformedRequest, 9, 0x0102030405060708);
        Assert.Equal("02030000090000000807060504030201" + "EEEEEEEEEEEEEEEE", Hex(header)); // a reply header is 16 bytes; the rest is untouched
    }

    [Fact]
    public void Trace_context_is_pinned_and_only_a_traced_frame_carries_it()
    {
        var context = new System.Diagnostics.ActivityContext(System.Diagnostics.ActivityTraceId.CreateFromString("0102030405060708090a0b0c0d0e0f10"),
            System.Diagnostics.ActivitySpanId.CreateFromString("a1a2a3a4a5a6a7a8"), System.Diagnostics.ActivityTraceFlags.Recorded);

        // The trace envelope of an ordered payload (reserved type id 2), inside the session envelope and before the call header.
        var envelope = Dirty(RpcHeaders.TraceEnvelopeSize);
        RpcHeaders.WriteTraceEnvelope(envelope, context);
        Assert.Equal("02000000000100000102030405060708090A0B0C0D0E0F10A1A2A3A4A5A6A7A8", Hex(envelope));
        var call = new byte[RpcHeaders.OrderedHeaderSize];
        RpcHeaders.WriteOrderedHeader(call, 9, 3, 77, 5);
        var session = new byte[RpcHeaders.SessionEnvelopeSize];
        RpcHeaders.WriteSessionEnvelope(session, new ClientSession(4, 2, 1));
        byte[] payload = [.. session, .. envelope, .. call];
        Assert.Equal(77, RpcHeaders.RequestIdOf(payload));
        Assert.Equal(77, RpcHeaders.RequestIdOf([.. envelope, .. call]));
        Assert.Equal(77, RpcHeaders.RequestIdOf(call));
        Assert.True(RpcHeaders.TryReadSessionEnvelope(payload, out _, out var inner));
        Assert.True(RpcHeaders.TryReadTraceEnvelope(inner, out var read, out var wrapped));
        Assert.Equal((context.TraceId, context.SpanId, context.TraceFlags), (read.TraceId, read.SpanId, read.TraceFlags));
        Assert.Equal(Hex(call), Hex(wrapped));
        Assert.False(RpcHeaders.TryReadTraceEnvelope(call, out _, out wrapped), "an untraced call has no envelope");
        Assert.Equal(Hex(call), Hex(wrapped));

        // A traced relay or P2P request: flag 2 in the flags byte, the context after the arguments.
        using var relay = new PooledBufferWriter();
        relay.GetSpan(RpcHeaders.SessionRelayHeaderSize + 2);
        relay.Advance(RpcHeaders.SessionRelayHeaderSize);
        RpcHeaders.WriteSessionRelayHeader(relay.WrittenSpanMutable, 1, 2, 3, 4, 5, 5);
        relay.GetSpan(2)[..2].Fill(0xAB);
        relay.Advance(2);
        var untraced = relay.WrittenSpan.ToArray();
        Assert.Equal(untraced.Length, RpcHeaders.WithoutTraceContext(untraced, RpcHeaders.SessionRelayHeaderSize, out var none));
        Assert.Equal(default, none);
        RpcHeaders.AppendTraceContext(relay, context);
        var traced = relay.WrittenSpan.ToArray();
        Assert.Equal(untraced.Length + RpcHeaders.TraceContextSize, traced.Length);
        Assert.Equal("2203", Hex(traced.AsSpan(0, 2)));
        Assert.Equal("0102030405060708090A0B0C0D0E0F10A1A2A3A4A5A6A7A801", Hex(traced.AsSpan(untraced.Length)));
        Assert.True(RpcHeaders.TryReadRelaySession(traced, out var sequence, out _, out var argumentsAt));
        Assert.Equal((5L, RpcHeaders.SessionRelayHeaderSize), (sequence, argumentsAt));
        Assert.Equal(untraced.Length, RpcHeaders.WithoutTraceContext(traced, argumentsAt, out read));
        Assert.Equal((context.TraceId, context.SpanId, context.TraceFlags), (read.TraceId, read.SpanId, read.TraceFlags));
        Assert.Equal(-1, RpcHeaders.WithoutTraceContext(traced.AsSpan(0, RpcHeaders.SessionRelayHeaderSize + 10), argumentsAt, out _));
        traced[1] = 4;
        Assert.False(RpcHeaders.TryReadRelaySession(traced, out _, out _, out _), "an unknown relay flag is refused");

        var p2p = new byte[RpcHeaders.P2PHeaderSize];
        RpcHeaders.WriteP2PHeader(p2p, 1, 2, 3, 4, new ReadTime(10, FailFast: true));
        p2p[1] |= 2;
        Assert.True(RpcHeaders.TryReadP2PReadTime(p2p, out var readAt));
        Assert.Equal(new ReadTime(10, true), readAt);
    }

    [Fact]
    public void The_group_fingerprint_is_stable()
    {
        Assert.Equal(0xD4515A481C6B2CDEUL, GroupFingerprint.Of("derecho", 8 << 20, 1 << 20));
        Assert.NotEqual(GroupFingerprint.Of("a", 1, 2), GroupFingerprint.Of("a", 1, 3));
    }

    [Fact]
    public void Fixed_layout_messages_round_trip()
    {
        Assert.True(JoinMessages.TryReadPair(JoinMessages.JoinRequest(3, long.MinValue), out var id, out var value));
        Assert.Equal((3, long.MinValue), (id, value));
        Assert.True(JoinMessages.TryReadPair(ClientMessages.Hello(int.MaxValue, -7), out id, out value));
        Assert.Equal((int.MaxValue, -7L), (id, value));

        Assert.True(JoinMessages.TryReadViewProposal(JoinMessages.ViewProposal(12, 34, Members, LayoutBytes), out var viewId, out var proposal, out var members, out var layout));
        Assert.Equal((12L, 34L), (viewId, proposal));
        Assert.Equal(Members, members);
        Assert.Equal(LayoutBytes, layout.ToArray());

        Assert.True(JoinMessages.TryReadJoinCommit(JoinMessages.JoinCommit(-9), out proposal));
        Assert.Equal(-9, proposal);
        Assert.True(JoinMessages.TryReadJoinRefused(JoinMessages.JoinRefused("full é"), out var reason));
        Assert.Equal("full é", reason);

        Assert.True(StateTransferMessages.TryReadShardStateUnavailable(StateTransferMessages.ShardStateUnavailable(uint.MaxValue, 5, 6, "why"), out var typeId, out var shard, out viewId, out var why));
        Assert.Equal((uint.MaxValue, 5, 6L, "why"), (typeId, shard, viewId, System.Text.Encoding.UTF8.GetString(why)));

        Assert.True(ClientMessages.TryReadRelayResult(ClientMessages.RelayResult(-4, Replies), out var request, out var replies));
        Assert.Equal(-4, request);
        Assert.Equal(Replies.Select(Describe), replies.Select(Describe));
    }

    [Fact]
    public void Rpc_headers_round_trip()
    {
        var header = new byte[32];
        RpcHeaders.WriteOrderedHeader(header, 9, 2, 3, 4); // type ids 0 and 1 are reserved (time barrier, session envelope)
        Assert.True(RpcHeaders.TryReadOrderedHeader(header, out var typeId, out var methodId, out var requestId, out var ticks));
        Assert.Equal((9u, 2u, 3L, 4L), (typeId, methodId, requestId, ticks));
        Assert.Equal(3, RpcHeaders.RequestIdOf(header));
        Assert.Equal(-1, RpcHeaders.RequestIdOf(header.AsSpan(0, 23)));

        RpcHeaders.WriteP2PHeader(header, 5, -6, 7, 8);
        Assert.True(RpcHeaders.TryReadP2PHeader(header, out typeId, out var shard, out methodId, out requestId));
        Assert.Equal((5u, -6, 7u, 8L), (typeId, shard, methodId, requestId));
        Assert.Equal(MessageKind.P2PRequest, (MessageKind)header[0]);

        RpcHeaders.WriteRelayHeader(header, 9, 10, 11, 12);
        Assert.True(RpcHeaders.TryReadRelayHeader(header, out typeId, out shard, out methodId, out requestId));
        Assert.Equal((9u, 10, 11u, 12L), (typeId, shard, methodId, requestId));
        Assert.Equal(MessageKind.Relay, (MessageKind)header[0]);

        RpcHeaders.WriteReplyHeader(header, ReplyStatus.NotApplied, 13, 14);
        Assert.True(RpcHeaders.TryReadReplyHeader(header, out var status, out var member, out requestId));
        Assert.Equal((ReplyStatus.NotApplied, 13, 14L), (status, member, requestId));
    }

    [Fact]
    public void Every_truncation_of_a_fixed_layout_message_is_rejected()
    {
        AllPrefixesRejected(JoinMessages.JoinRequest(3, 4), m => JoinMessages.TryReadPair(m, out _, out _));
        AllPrefixesRejected(JoinMessages.JoinCommit(5), m => JoinMessages.TryReadJoinCommit(m, out _));
        AllPrefixesRejected(JoinMessages.ViewProposal(1, 2, Members, []), m => JoinMessages.TryReadViewProposal(m, out _, out _, out _, out _));
        AllPrefixesRejected(ClientMessages.RelayResult(1, Replies), m => ClientMessages.TryReadRelayResult(m, out _, out _));
        AllPrefixesRejected(new byte[4], m => JoinMessages.TryReadJoinRefused(m, out _));
        AllPrefixesRejected(new byte[24], m => StateTransferMessages.TryReadShardStateUnavailable(m, out _, out _, out _, out _));
        AllPrefixesRejected(new byte[24], m => RpcHeaders.TryReadOrderedHeader(m, out _, out _, out _, out _));
        AllPrefixesRejected(new byte[32], m => RpcHeaders.TryReadP2PHeader(m, out _, out _, out _, out _));
        AllPrefixesRejected(new byte[32], m => RpcHeaders.TryReadP2PReadTime(m, out _));
        AllPrefixesRejected(new byte[24], m => RpcHeaders.TryReadRelayHeader(m, out _, out _, out _, out _));
        AllPrefixesRejected(new byte[16], m => RpcHeaders.TryReadReplyHeader(m, out _, out _, out _));
    }

    [Fact]
    public void Exact_length_messages_reject_trailing_bytes()
    {
        Assert.False(JoinMessages.TryReadPair([.. JoinMessages.JoinRequest(3, 4), 0], out _, out _));
        Assert.False(JoinMessages.TryReadJoinCommit([.. JoinMessages.JoinCommit(5), 0], out _));
        Assert.False(ClientMessages.TryReadRelayResult([.. ClientMessages.RelayResult(1, Replies), 0], out _, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(Sst.SstLayout.MaxMembers + 1)]
    [InlineData(int.MaxValue)]
    [InlineData(4)] // one more member than the message holds
    public void A_view_proposal_with_a_lying_member_count_is_rejected(int count)
    {
        var message = JoinMessages.ViewProposal(1, 2, Members, []);
        BitConverter.TryWriteBytes(message.AsSpan(16), count);
        Assert.False(JoinMessages.TryReadViewProposal(message, out _, out _, out _, out _));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(4)]
    [InlineData(int.MaxValue)]
    public void A_relay_result_with_a_lying_reply_count_is_rejected(int count)
    {
        var message = ClientMessages.RelayResult(1, Replies);
        BitConverter.TryWriteBytes(message.AsSpan(4), count);
        Assert.False(ClientMessages.TryReadRelayResult(message, out _, out _));
        var empty = ClientMessages.RelayResult(1, []);
        BitConverter.TryWriteBytes(empty.AsSpan(4), count);
        Assert.False(ClientMessages.TryReadRelayResult(empty, out _, out _));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(4)]
    [InlineData(int.MaxValue)]
    public void A_relay_result_with_a_lying_payload_length_is_rejected(int length)
    {
        var message = ClientMessages.RelayResult(1, Replies);
        BitConverter.TryWriteBytes(message.AsSpan(16 + 8), length); // the first reply's length (3)
        Assert.False(ClientMessages.TryReadRelayResult(message, out _, out _));
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(17);
        for (var i = 0; i < 5000; i++)
        {
            var message = new byte[random.Next(0, 96)];
            random.NextBytes(message);
            if (message.Length > 0 && random.Next(2) == 0) message[0] = (byte)random.Next(1, 36);
            _ = JoinMessages.TryReadPair(message, out _, out _);
            _ = JoinMessages.TryReadViewProposal(message, out _, out _, out _, out _);
            _ = JoinMessages.TryReadJoinCommit(message, out _);
            _ = JoinMessages.TryReadJoinRefused(message, out _);
            _ = StateTransferMessages.TryReadShardStateUnavailable(message, out _, out _, out _, out _);
            _ = ClientMessages.TryReadRelayResult(message, out _, out _);
            _ = RpcHeaders.TryReadOrderedHeader(message, out _, out _, out _, out _);
            _ = RpcHeaders.TryReadP2PHeader(message, out _, out _, out _, out _);
            _ = RpcHeaders.TryReadReplyHeader(message, out _, out _, out _);
            _ = RestartMessages.TryDecode<RestartViewMessage>(message);
            _ = RestartMessages.TryDecode<LogTailChunk>(message);
            _ = StateTransferMessages.TryDecode<ShardStateTail>(message);
            _ = StateTransferMessages.TryDecode<ShardStatePart>(message);
        }
    }

    [Fact]
    public void Memorypack_bodies_round_trip_and_every_truncation_decodes_to_null_or_a_value()
    {
        var part = new ShardStatePart(7, 1, 3, 100, 10, [1, 2, 3]);
        var encoded = StateTransferMessages.Encode(MessageKind.ShardStatePart, part);
        Assert.Equal((byte)MessageKind.ShardStatePart, encoded[0]);
        var decoded = StateTransferMessages.TryDecode<ShardStatePart>(encoded);
        Assert.NotNull(decoded);
        Assert.Equal((part.TypeId, part.Shard, part.ViewId, part.Total, part.Offset), (decoded.TypeId, decoded.Shard, decoded.ViewId, decoded.Total, decoded.Offset));
        Assert.Equal(part.Bytes, decoded.Bytes);

        var hello = new RestartHello(1, 2, [1, 2], [10, 20], [5], [7], [0], [9]);
        encoded = RestartMessages.Encode(MessageKind.RestartHello, hello);
        Assert.Equal((byte)MessageKind.RestartHello, encoded[0]);
        Assert.Equal(hello.Versions, RestartMessages.TryDecode<RestartHello>(encoded)!.Versions);
        for (var length = 0; length < encoded.Length; length++)
            _ = RestartMessages.TryDecode<RestartHello>(encoded.AsSpan(0, length)); // null or a value, never an exception
    }

    [Fact]
    public void Every_kind_has_one_family_and_retired_or_unused_numbers_have_none()
    {
        Assert.Equal(MessageFamily.Rpc, MessageKinds.FamilyOf(1));
        Assert.Equal(MessageFamily.Rpc, MessageKinds.FamilyOf(2));
        foreach (var kind in new byte[] { 16, 17, 18, 19, 21, 22 }) Assert.Equal(MessageFamily.Membership, MessageKinds.FamilyOf(kind));
        foreach (var kind in new byte[] { 23, 30, 31 }) Assert.Equal(MessageFamily.StateTransfer, MessageKinds.FamilyOf(kind));
        foreach (var kind in new byte[] { 24, 25, 26, 27, 28, 29 }) Assert.Equal(MessageFamily.Restart, MessageKinds.FamilyOf(kind));
        foreach (var kind in new byte[] { 32, 33, 34, 35, 36, 37 }) Assert.Equal(MessageFamily.Client, MessageKinds.FamilyOf(kind));
        foreach (var kind in new byte[] { 0, 3, 15, 20, 255 }) Assert.Equal(MessageFamily.Unknown, MessageKinds.FamilyOf(kind));
        Assert.All(Enum.GetValues<MessageKind>().Where(k => k != MessageKind.RetiredShardState),
            kind => Assert.NotEqual(MessageFamily.Unknown, MessageKinds.FamilyOf((byte)kind)));
    }

    [Fact]
    public void The_reader_marks_a_short_message_malformed_and_stops_there()
    {
        var reader = new WireReader([1, 2, 3, 4, 5]);
        Assert.Equal(0x04030201, reader.ReadInt32());
        Assert.True(reader.Ok);
        Assert.Equal(1, reader.Remaining);
        Assert.Equal(0L, reader.ReadInt64());
        Assert.False(reader.Ok);
        Assert.Equal(0, reader.ReadByte()); // nothing more is read once malformed
        Assert.True(reader.ReadRest().IsEmpty);
        Assert.False(reader.AtEnd);

        reader = new WireReader([1, 2]);
        Assert.True(reader.ReadBytes(-1).IsEmpty);
        Assert.False(reader.Ok);
    }

    private static void AllPrefixesRejected(byte[] valid, Func<byte[], bool> decode)
    {
        Assert.True(decode(valid), "the full message decodes");
        for (var length = 0; length < valid.Length; length++)
            Assert.False(decode(valid[..length]), $"a message cut to {length} of {valid.Length} bytes is rejected");
    }

    private static string Describe(RawReply reply) => $"{reply.MemberId} {reply.Status} {Hex(reply.Payload)}";

    private static byte[] Dirty(int length) => Enumerable.Repeat((byte)0xEE, length).ToArray();

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);
}
