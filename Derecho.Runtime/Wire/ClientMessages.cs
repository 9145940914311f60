
namespace Derecho.Wire;

/// <summary>Encoding and decoding of the messages between an external client and a member (layouts at <see cref="MessageKind"/>; the relay header is in <see cref="RpcHeaders"/>).</summary>
internal static class ClientMessages
{
    private const int RelayResultHeaderSize = 16;
    private const int ReplyHeaderSize = 12;

    public static byte[] Hello(int clientId, long endpoint) => JoinMessages.Pair(MessageKind.ClientHello, clientId, endpoint);

    public static byte[] ViewInfo(long viewId, IReadOnlyList<(int Id, long Endpoint)> members, Layout.GroupLayout layout) =>
        JoinMessages.ViewProposal(MessageKind.ViewInfo, viewId, 0, members, layout.Serialize());

    /// <summary>Why a relayed call's <paramref name="arguments"/> bytes cannot be multicast under <paramref name="maxPayloadBytes"/> (with its call header and, in a session, its envelope), or null if they can.</summary>
    public static string? TooLargeToRelay(int arguments, bool inSession, int maxPayloadBytes)
    {
        var headers = RpcHeaders.OrderedHeaderSize + (inSession ? RpcHeaders.SessionEnvelopeSize : 0);
        return arguments > maxPayloadBytes - headers
            ? $"request of {arguments} bytes exceeds MaxPayloadBytes {maxPayloadBytes} less the {headers}-byte call header"
            : null;
    }

    public static byte[] RelayResult(long clientRequest, IReadOnlyList<RawReply> replies)
    {
        var size = RelayResultHeaderSize;
        foreach (var reply in replies) size += ReplyHeaderSize + reply.Payload.Length;
        var bytes = new byte[size];
        var writer = new WireWriter(bytes);
        writer.WriteByte((byte)MessageKind.RelayResult);
        writer.Pad(3);
        writer.WriteInt32(replies.Count);
        writer.WriteInt64(clientRequest);
        foreach (var reply in replies)
        {
            writer.WriteInt32(reply.MemberId);
            writer.WriteByte((byte)reply.Status);
            writer.Pad(3);
            writer.WriteInt32(reply.Payload.Length);
            writer.WriteBytes(reply.Payload);
        }
        return bytes;
    }

    /// <summary>Reads a relay result; false if it is cut short, has bytes left over or counts fewer than zero replies or payload bytes.</summary>
    public static bool TryReadRelayResult(ReadOnlySpan<byte> message, out long clientRequest, out List<RawReply> replies)
    {
        replies = new List<RawReply>();
        var reader = new WireReader(message);
        reader.Skip(4); // kind, pad 3
        var count = reader.ReadInt32();
        clientRequest = reader.ReadInt64();
        if (count < 0) reader.Fail();
        for (var i = 0; i < count && reader.Ok; i++)
        {
            var member = reader.ReadInt32();
            var status = (ReplyStatus)reader.ReadByte();
            reader.Skip(3);
            var payload = reader.ReadBytes(reader.ReadInt32());
            if (reader.Ok) replies.Add(new RawReply(member, status, payload.ToArray()));
        }
        return reader.AtEnd;
    }
}

/// <summary>One replica's reply as bytes, for relaying to an external client that decodes it.</summary>
internal readonly record struct RawReply(int MemberId, ReplyStatus Status, byte[] Payload);
