using System.Text;

namespace Derecho.Wire;

/// <summary>Encoding and decoding of the join messages (layouts at <see cref="MessageKind"/>).</summary>
internal static class JoinMessages
{
    private const int PairSize = 16;
    private const int ProposalHeaderSize = 20;
    private const int ProposedMemberSize = 16;

    public static byte[] JoinRequest(int id, long endpoint) => Pair(MessageKind.JoinRequest, id, endpoint);

    public static byte[] JoinAck(int id, long proposal) => Pair(MessageKind.JoinAck, id, proposal);

    /// <summary>A client's hello has a join request's layout.</summary>
    internal static byte[] Pair(MessageKind kind, int id, long value)
    {
        var bytes = new byte[PairSize];
        var writer = new WireWriter(bytes);
        writer.WriteByte((byte)kind);
        writer.Pad(3);
        writer.WriteInt32(id);
        writer.WriteInt64(value);
        return bytes;
    }

    /// <summary>Reads the (id, value) pair of a JoinRequest, JoinAck or client hello.</summary>
    public static bool TryReadPair(ReadOnlySpan<byte> message, out int id, out long value)
    {
        var reader = new WireReader(message);
        reader.Skip(4); // kind, pad 3
        id = reader.ReadInt32();
        value = reader.ReadInt64();
        return reader.AtEnd;
    }

    public static byte[] ViewProposal(long viewId, long proposal, IReadOnlyList<(int Id, long Endpoint)> members, ReadOnlySpan<byte> layout) =>
        ViewProposal(MessageKind.ViewProposal, viewId, proposal, members, layout);

    /// <summary>A client's view info has a view proposal's layout.</summary>
    internal static byte[] ViewProposal(MessageKind kind, long viewId, long proposal, IReadOnlyList<(int Id, long Endpoint)> members, ReadOnlySpan<byte> layout)
    {
        var bytes = new byte[ProposalHeaderSize + ProposedMemberSize * members.Count + layout.Length];
        var writer = new WireWriter(bytes);
        writer.WriteByte((byte)kind);
        writer.Pad(3);
        writer.WriteInt32(checked((int)viewId));
        writer.WriteInt64(proposal);
        writer.WriteInt32(members.Count);
        foreach (var (id, endpoint) in members)
        {
            writer.WriteInt32(id);
            writer.Pad(4);
            writer.WriteInt64(endpoint);
        }
        writer.WriteBytes(layout);
        return bytes;
    }

    public static bool TryReadViewProposal(ReadOnlySpan<byte> message, out long viewId, out long proposal, out (int Id, long Endpoint)[] members, out ReadOnlySpan<byte> layout)
    {
        members = [];
        layout = default;
        var reader = new WireReader(message);
        reader.Skip(4); // kind, pad 3
        viewId = reader.ReadInt32();
        proposal = reader.ReadInt64();
        var count = reader.ReadInt32();
        if (!reader.Ok || count is < 1 or > Sst.SstLayout.MaxMembers || reader.Remaining < ProposedMemberSize * count) return false;
        members = new (int, long)[count];
        for (var i = 0; i < count; i++)
        {
            var id = reader.ReadInt32();
            reader.Skip(4);
            members[i] = (id, reader.ReadInt64());
        }
        layout = reader.ReadRest();
        return reader.Ok;
    }

    public static byte[] JoinCommit(long proposal)
    {
        var bytes = new byte[PairSize];
        var writer = new WireWriter(bytes);
        writer.WriteByte((byte)MessageKind.JoinCommit);
        writer.Pad(7);
        writer.WriteInt64(proposal);
        return bytes;
    }

    public static bool TryReadJoinCommit(ReadOnlySpan<byte> message, out long proposal)
    {
        var reader = new WireReader(message);
        reader.Skip(8); // kind, pad 7
        proposal = reader.ReadInt64();
        return reader.AtEnd;
    }

    public static byte[] JoinRefused(string reason)
    {
        var text = Encoding.UTF8.GetBytes(reason);
        var bytes = new byte[4 + text.Length];
        var writer = new WireWriter(bytes);
        writer.WriteByte((byte)MessageKind.JoinRefused);
        writer.Pad(3);
        writer.WriteBytes(text);
        return bytes;
    }

    public static bool TryReadJoinRefused(ReadOnlySpan<byte> message, out string reason)
    {
        var reader = new WireReader(message);
        reader.Skip(4); // kind, pad 3
        reason = reader.Ok ? Encoding.UTF8.GetString(reader.ReadRest()) : "";
        return reader.Ok;
    }
}
