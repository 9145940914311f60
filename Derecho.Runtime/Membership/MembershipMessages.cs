using System.Buffers.Binary;
using System.Text;

namespace Derecho.Membership;

/// <summary>Kinds of membership message (two-sided; RPC kinds are below 16).</summary>
internal enum MembershipMessageKind : byte
{
    /// <summary>Joiner to any member: let me in. [kind][pad 3][id i32][endpoint i64]</summary>
    JoinRequest = 16,
    /// <summary>Leader to joiner: the view you are proposed into and the last adequate layout. [kind][pad 3][view i32][proposal i64][count i32][(id i32, pad 4, endpoint i64)…][layout]</summary>
    ViewProposal = 17,
    /// <summary>Joiner to leader: prepared for the proposal. [kind][pad 3][id i32][proposal i64]</summary>
    JoinAck = 18,
    /// <summary>Leader to joiner: committed; install the view. [kind][pad 3][pad 4][proposal i64]</summary>
    JoinCommit = 19,
    /// <summary>Retired (state transfer now runs as <see cref="StateTransferKind"/> messages); the number stays taken.</summary>
    ShardState = 20,
    /// <summary>Member to a process that asked to join: refused, and why. [kind][pad 3][reason utf-8]</summary>
    JoinRefused = 21,
    /// <summary>A shard's old member to a member new to the shard: the state cannot be sent, and why. [kind][pad 3][type u32][shard i32][pad 4][view i64][reason utf-8]</summary>
    ShardStateUnavailable = 22,
}

/// <summary>Encoding and decoding of membership messages (little endian).</summary>
internal static class MembershipMessages
{
    public const byte FirstKind = 16;

    public static byte[] JoinRequest(int id, long endpoint)
    {
        var bytes = new byte[16];
        bytes[0] = (byte)MembershipMessageKind.JoinRequest;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), id);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), endpoint);
        return bytes;
    }

    public static byte[] JoinAck(int id, long proposal)
    {
        var bytes = JoinRequest(id, proposal);
        bytes[0] = (byte)MembershipMessageKind.JoinAck;
        return bytes;
    }

    /// <summary>Reads the (id, value) pair of a JoinRequest or JoinAck.</summary>
    public static bool TryReadPair(ReadOnlySpan<byte> message, out int id, out long value)
    {
        id = 0;
        value = 0;
        if (message.Length != 16) return false;
        id = BinaryPrimitives.ReadInt32LittleEndian(message[4..]);
        value = BinaryPrimitives.ReadInt64LittleEndian(message[8..]);
        return true;
    }

    public static byte[] ViewProposal(long viewId, long proposal, IReadOnlyList<(int Id, long Endpoint)> members, ReadOnlySpan<byte> layout)
    {
        var bytes = new byte[20 + 16 * members.Count + layout.Length];
        layout.CopyTo(bytes.AsSpan(20 + 16 * members.Count));
        bytes[0] = (byte)MembershipMessageKind.ViewProposal;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), checked((int)viewId));
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), proposal);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), members.Count);
        for (var i = 0; i < members.Count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(20 + 16 * i), members[i].Id);
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(28 + 16 * i), members[i].Endpoint);
        }
        return bytes;
    }

    public static bool TryReadViewProposal(ReadOnlySpan<byte> message, out long viewId, out long proposal, out (int Id, long Endpoint)[] members, out ReadOnlySpan<byte> layout)
    {
        viewId = proposal = 0;
        members = [];
        layout = default;
        if (message.Length < 20) return false;
        viewId = BinaryPrimitives.ReadInt32LittleEndian(message[4..]);
        proposal = BinaryPrimitives.ReadInt64LittleEndian(message[8..]);
        var count = BinaryPrimitives.ReadInt32LittleEndian(message[16..]);
        if (count is < 1 or > Sst.SstLayout.MaxMembers || message.Length < 20 + 16 * count) return false;
        layout = message[(20 + 16 * count)..];
        members = new (int, long)[count];
        for (var i = 0; i < count; i++)
            members[i] = (BinaryPrimitives.ReadInt32LittleEndian(message[(20 + 16 * i)..]), BinaryPrimitives.ReadInt64LittleEndian(message[(28 + 16 * i)..]));
        return true;
    }

    public static byte[] JoinCommit(long proposal)
    {
        var bytes = new byte[16];
        bytes[0] = (byte)MembershipMessageKind.JoinCommit;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), proposal);
        return bytes;
    }

    public static bool TryReadJoinCommit(ReadOnlySpan<byte> message, out long proposal)
    {
        proposal = 0;
        if (message.Length != 16) return false;
        proposal = BinaryPrimitives.ReadInt64LittleEndian(message[8..]);
        return true;
    }

    public static byte[] ShardStateUnavailable(uint typeId, int shard, long viewId, string reason)
    {
        var text = Encoding.UTF8.GetBytes(reason);
        var bytes = new byte[24 + text.Length];
        bytes[0] = (byte)MembershipMessageKind.ShardStateUnavailable;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), typeId);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), shard);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), viewId);
        text.CopyTo(bytes.AsSpan(24));
        return bytes;
    }

    public static byte[] JoinRefused(string reason)
    {
        var text = Encoding.UTF8.GetBytes(reason);
        var bytes = new byte[4 + text.Length];
        bytes[0] = (byte)MembershipMessageKind.JoinRefused;
        text.CopyTo(bytes, 4);
        return bytes;
    }

    public static bool TryReadJoinRefused(ReadOnlySpan<byte> message, out string reason)
    {
        reason = message.Length < 4 ? "" : Encoding.UTF8.GetString(message[4..]);
        return message.Length >= 4;
    }

    /// <summary>Reads a ShardStateUnavailable (the reason is in <paramref name="state"/>).</summary>
    public static bool TryReadShardStateUnavailable(ReadOnlySpan<byte> message, out uint typeId, out int shard, out long viewId, out ReadOnlySpan<byte> state)
    {
        typeId = 0;
        shard = 0;
        viewId = 0;
        state = default;
        if (message.Length < 24) return false;
        typeId = BinaryPrimitives.ReadUInt32LittleEndian(message[4..]);
        shard = BinaryPrimitives.ReadInt32LittleEndian(message[8..]);
        viewId = BinaryPrimitives.ReadInt64LittleEndian(message[16..]);
        state = message[24..];
        return true;
    }
}
