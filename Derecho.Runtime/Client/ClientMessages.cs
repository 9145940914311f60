using System.Buffers.Binary;
using Derecho.Rpc;

namespace Derecho.Client;

/// <summary>Kinds of message between an external client and a member (RPC kinds are below 16, membership 16–31).</summary>
internal enum ClientMessageKind : byte
{
    /// <summary>Client to member: who I am and where to answer. [kind][pad 3][client id i32][endpoint i64]</summary>
    Hello = 32,
    /// <summary>Member to client: the current view and its layout. A view proposal followed by the layout.</summary>
    ViewInfo = 33,
    /// <summary>Client (or member outside the shard) to a shard member: multicast this ordered call for me. [kind][pad 3][type u32][method u32][shard i32][client request i64][arguments]</summary>
    Relay = 34,
    /// <summary>Member to client: every replica's reply. [kind][pad 3][count i32][client request i64] then per reply [member i32][status u8][pad 3][length i32][bytes]</summary>
    RelayResult = 35,
}

internal static class ClientMessages
{
    public const byte FirstKind = 32;
    public const int RelayHeaderSize = RpcWire.P2PHeaderSize;

    public static byte[] Hello(int clientId, long endpoint)
    {
        var bytes = Membership.MembershipMessages.JoinRequest(clientId, endpoint);
        bytes[0] = (byte)ClientMessageKind.Hello;
        return bytes;
    }

    public static byte[] ViewInfo(long viewId, IReadOnlyList<(int Id, long Endpoint)> members, Layout.GroupLayout layout)
    {
        var bytes = Membership.MembershipMessages.ViewProposal(viewId, 0, members, layout.Serialize());
        bytes[0] = (byte)ClientMessageKind.ViewInfo;
        return bytes;
    }

    /// <summary>Why a relay message of <paramref name="relayBytes"/> cannot be multicast under <paramref name="maxPayloadBytes"/>, or null if it can.</summary>
    public static string? TooLargeToRelay(int relayBytes, int maxPayloadBytes)
    {
        var arguments = relayBytes - RelayHeaderSize;
        return arguments > maxPayloadBytes - RpcWire.OrderedHeaderSize
            ? $"request of {arguments} bytes exceeds MaxPayloadBytes {maxPayloadBytes} less the {RpcWire.OrderedHeaderSize}-byte call header"
            : null;
    }

    /// <summary>Turns a request buffer's reserved header into a relay header.</summary>
    public static void WriteRelayHeader(Span<byte> at, uint typeId, int shard, uint methodId, long clientRequest)
    {
        RpcWire.WriteP2PHeader(at, typeId, shard, methodId, clientRequest);
        at[0] = (byte)ClientMessageKind.Relay;
    }

    public static bool TryReadRelayHeader(ReadOnlySpan<byte> message, out uint typeId, out int shard, out uint methodId, out long clientRequest) =>
        RpcWire.TryReadP2PHeader(message, out typeId, out shard, out methodId, out clientRequest);

    public static byte[] RelayResult(long clientRequest, IReadOnlyList<RawReply> replies)
    {
        var size = 16 + replies.Sum(r => 12 + r.Payload.Length);
        var bytes = new byte[size];
        bytes[0] = (byte)ClientMessageKind.RelayResult;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), replies.Count);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), clientRequest);
        var at = 16;
        foreach (var reply in replies)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), reply.MemberId);
            bytes[at + 4] = (byte)reply.Status;
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at + 8), reply.Payload.Length);
            reply.Payload.CopyTo(bytes, at + 12);
            at += 12 + reply.Payload.Length;
        }
        return bytes;
    }

    public static bool TryReadRelayResult(ReadOnlySpan<byte> message, out long clientRequest, out List<RawReply> replies)
    {
        clientRequest = 0;
        replies = new List<RawReply>();
        if (message.Length < 16) return false;
        var count = BinaryPrimitives.ReadInt32LittleEndian(message[4..]);
        clientRequest = BinaryPrimitives.ReadInt64LittleEndian(message[8..]);
        var at = 16;
        for (var i = 0; i < count; i++)
        {
            if (message.Length < at + 12) return false;
            var length = BinaryPrimitives.ReadInt32LittleEndian(message[(at + 8)..]);
            if (length < 0 || message.Length < at + 12 + length) return false;
            replies.Add(new RawReply(BinaryPrimitives.ReadInt32LittleEndian(message[at..]), (ReplyStatus)message[at + 4], message.Slice(at + 12, length).ToArray()));
            at += 12 + length;
        }
        return at == message.Length;
    }
}
