using MemoryPack;

namespace Derecho.Membership;

/// <summary>
/// Kinds of the state transfer messages: [kind][MemoryPack body]. A member new to a shard asks each old member
/// (<see cref="ShardStateRequest"/>); the one that owes it the state answers with the log records it lacks, then
/// the object state in parts, from a background task.
/// </summary>
internal enum StateTransferKind : byte
{
    /// <summary>Receiver to the shard's old members: <see cref="ShardStateRequest"/>.</summary>
    Request = 23,
    /// <summary>Sender to receiver, first: log records after the receiver's newest, <see cref="ShardStateTail"/>.</summary>
    Tail = 30,
    /// <summary>Sender to receiver, then: a part of the object state, <see cref="ShardStatePart"/>.</summary>
    Part = 31,
}

/// <summary>The state of a shard as view <see cref="ViewId"/> began, please: my log's newest version is <see cref="After"/> (-1: none).</summary>
[MemoryPackable]
internal sealed partial record ShardStateRequest(uint TypeId, int Shard, long ViewId, long After);

/// <summary>Log records for the receiver (see <see cref="Persistence.LogTailBatch"/>).</summary>
[MemoryPackable]
internal sealed partial record ShardStateTail(uint TypeId, int Shard, long ViewId, bool Complete, long[] Versions, long[] Ticks, byte[][] Payloads);

/// <summary>Bytes <see cref="Offset"/>… of a snapshot of <see cref="Total"/> bytes (<see cref="Replication.ShardSnapshot.Take"/>); parts come in order.</summary>
[MemoryPackable]
internal sealed partial record ShardStatePart(uint TypeId, int Shard, long ViewId, long Total, long Offset, byte[] Bytes);

/// <summary>Encoding of the state transfer messages.</summary>
internal static class StateTransferMessages
{
    public static bool IsStateTransferKind(byte kind) => kind is (byte)StateTransferKind.Request or (byte)StateTransferKind.Tail or (byte)StateTransferKind.Part;

    public static byte[] Encode<T>(StateTransferKind kind, T message) => MessageBodies.Encode((byte)kind, message);

    /// <summary>Decodes a body; null if it is malformed.</summary>
    public static T? TryDecode<T>(ReadOnlySpan<byte> message) where T : class => MessageBodies.TryDecode<T>(message);
}
