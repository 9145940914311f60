using Derecho.Fuzz.Targets;
using Derecho.Layout;
using Derecho.Persistence;
using Derecho.Transport;
using Derecho.Wire;
using MemoryPack;

namespace Derecho.Fuzz;

/// <summary>Valid encodings of each target's messages, made by the runtime's own encoders: where afl starts.</summary>
public static class Seeds
{
    private static readonly (int Id, long Endpoint)[] Members = [(1, 0x0100007F_00001F90), (2, 0x0100007F_00001F91), (3, 0x0100007F_00001F92)];
    private static readonly GroupLayout SampleLayout = new([new SubgroupLayout(0xA1B2C3D4, "kv", [[1, 2], [3]]), new SubgroupLayout(7, "counter", [[1, 2, 3]])]);

    /// <summary>The seeds of <paramref name="target"/>.</summary>
    public static IReadOnlyList<byte[]> For(string target) => target switch
    {
        "frame-header" => [Header(FrameType.Hello, 0, HelloMessage.Size, 0, 0), Header(FrameType.Write, 1, 4096, 128, 5), Header(FrameType.Refused, 1, 20, 0, 0)],
        "hello" => [Hello(HelloMessage.CurrentVersion, 3, 0x1122334455667788)],
        "join" => [JoinMessages.JoinRequest(4, Members[0].Endpoint), JoinMessages.JoinAck(4, 9), JoinMessages.ViewProposal(5, 9, Members, SampleLayout.Serialize()),
            JoinMessages.JoinCommit(9), JoinMessages.JoinRefused("group is full")],
        "rpc-headers" => RpcSeeds(),
        "client" => [ClientMessages.Hello(1000, Members[0].Endpoint), ClientMessages.ViewInfo(5, Members, SampleLayout),
            ClientMessages.RelayResult(42, [new RawReply(1, ReplyStatus.Ok, [1, 2, 3]), new RawReply(2, ReplyStatus.HandlerFailed, "boom"u8.ToArray())]),
            TriggerSeed(), TriggerMessages.Ack(7, ReplyStatus.Overloaded, 0, "full"),
            NotificationMessages.Subscribe(43, 7, 0, 5L << 40 | 9, 1, "orders"), NotificationMessages.Subscribe(44, 7, 0, -1, -1, null),
            NotificationMessages.Unsubscribe(43), NotificationMessages.Ended(43, SubscriptionEnd.Lagged, 1, "lagged 2000 notifications behind"),
            NotificationBatch(43, (5L << 40 | 9, 0, "orders", [1, 2]), (5L << 40 | 9, 1, "orders", []), (5L << 40 | 10, 0, "é", [3]))],
        "layout" => [SampleLayout.Serialize(), new GroupLayout([], "inadequate").Serialize()],
        "state-transfer" => [
            StateTransferMessages.Encode(MessageKind.ShardStateRequest, new ShardStateRequest(7, 0, 5, 41)),
            StateTransferMessages.Encode(MessageKind.ShardStateTail, new ShardStateTail(7, 0, 5, true, [42, 43], [100, 200], [[1], [2, 3]])),
            StateTransferMessages.Encode(MessageKind.ShardStatePart, new ShardStatePart(7, 0, 5, 10, 0, [1, 2, 3, 4])),
            StateTransferMessages.ShardStateUnavailable(7, 0, 5, "no state yet")],
        "restart" => [
            RestartMessages.Encode(MessageKind.RestartHello, new RestartHello(1, 5, [1, 2], [10, 20], SampleLayout.Serialize(), [7], [0], [41])),
            RestartMessages.Encode(MessageKind.RestartView, new RestartViewMessage(1, 6, [1, 2], [10, 20], [], [7], [0], [2], [41], [[1, 2]])),
            RestartMessages.Encode(MessageKind.RestartRejoin, new RestartRejoin(6, [1, 2], [10, 20], "running")),
            RestartMessages.Encode(MessageKind.RestartReady, new RestartReady(6)),
            RestartMessages.Encode(MessageKind.LogTailRequest, new LogTailRequest(7, 0, 41)),
            RestartMessages.Encode(MessageKind.LogTail, new LogTailChunk(7, 0, true, true, [42], [100], [[9, 9]]))],
        "arguments" => [
            Arguments(0, MemoryPackSerializer.Serialize(42L), MemoryPackSerializer.Serialize("key")),
            Arguments(1, MemoryPackSerializer.Serialize("key"), MemoryPackSerializer.Serialize<byte[]>([1, 2, 3])),
            Arguments(2, MemoryPackSerializer.Serialize<int[]>([1, 2]), MemoryPackSerializer.Serialize(new List<string> { "a", "bé" })),
            Arguments(3, MemoryPackSerializer.Serialize(new Dictionary<string, long> { ["a"] = 1 }), MemoryPackSerializer.Serialize(new SampleArgument(1, "name", ["x"], [2, 3], null)))],
        "log" => [Log((1, [1, 2, 3]), (2, []), (5, [4, 5])), Log((1, [7]))],
        _ => throw new ArgumentException($"no fuzz target {target}", nameof(target)),
    };

    private static byte[] NotificationBatch(long subscription, params (long Version, int Index, string Topic, byte[] Payload)[] entries)
    {
        var size = NotificationMessages.BatchHeaderSize + entries.Sum(e => NotificationMessages.EntrySize(System.Text.Encoding.UTF8.GetByteCount(e.Topic), e.Payload.Length));
        var bytes = new byte[size];
        var at = NotificationMessages.BatchHeaderSize;
        foreach (var (version, index, topic, payload) in entries)
        {
            var topicBytes = System.Text.Encoding.UTF8.GetBytes(topic);
            var length = NotificationMessages.EntrySize(topicBytes.Length, payload.Length);
            NotificationMessages.WriteEntry(bytes.AsSpan(at, length), version, index, 638_000_000_000_000_000, topicBytes, payload);
            at += length;
        }
        NotificationMessages.WriteBatchHeader(bytes, subscription, entries.Length);
        return bytes;
    }

    private static byte[] Header(FrameType type, byte region, int length, int offset, int epoch)
    {
        var bytes = new byte[FrameHeader.Size];
        new FrameHeader(type, region, length, offset, epoch).WriteTo(bytes);
        return bytes;
    }

    private static byte[] Hello(int version, int memberId, ulong fingerprint)
    {
        var bytes = new byte[HelloMessage.Size];
        new HelloMessage(version, memberId, fingerprint).WriteTo(bytes);
        return bytes;
    }

    /// <summary>A trigger batch of one event with two argument bytes.</summary>
    private static byte[] TriggerSeed()
    {
        var batch = new byte[TriggerMessages.BatchHeaderSize + TriggerMessages.EventHeaderSize + 2];
        TriggerMessages.WriteBatchHeader(batch, 1, 5);
        TriggerMessages.WriteEventHeader(batch.AsSpan(TriggerMessages.BatchHeaderSize), 7, 3, 0);
        return batch;
    }

    private static byte[][] RpcSeeds()
    {
        var ordered = new byte[RpcHeaders.OrderedHeaderSize + 2];
        RpcHeaders.WriteOrderedHeader(ordered, 7, 3, 99, 638000000000000000);
        var p2p = new byte[RpcHeaders.P2PHeaderSize + 2];
        RpcHeaders.WriteP2PHeader(p2p, 7, 1, 3, 99);
        var relay = new byte[RpcHeaders.RelayHeaderSize];
        RpcHeaders.WriteRelayHeader(relay, 7, 0, 3, 100);
        var reply = new byte[RpcHeaders.ReplyHeaderSize + 1];
        RpcHeaders.WriteReplyHeader(reply, ReplyStatus.Ok, 2, 99);
        return [ordered, p2p, relay, reply];
    }

    private static byte[] Arguments(byte signature, params byte[][] values) => [signature, .. values.SelectMany(v => v)];

    private static byte[] Log(params (long Version, byte[] Payload)[] records)
    {
        var bytes = new List<byte>();
        foreach (var (version, payload) in records)
        {
            var record = new byte[LogRecord.HeaderSize + payload.Length];
            LogRecord.Write(record, payload, version, 638000000000000000 + version, 0);
            bytes.AddRange(record);
        }
        return [.. bytes];
    }
}
