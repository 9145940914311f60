using System.Text;
using MemoryPack;

namespace Derecho.Wire;

/// <summary>The state of a shard as view <see cref="ViewId"/> began, please: my log's newest version is <see cref="After"/> (-1: none).</summary>
[MemoryPackable]
internal sealed partial record ShardStateRequest(uint TypeId, int Shard, long ViewId, long After);

/// <summary>Log records for the receiver (see <see cref="Persistence.LogTailBatch"/>).</summary>
[MemoryPackable]
internal sealed partial record ShardStateTail(uint TypeId, int Shard, long ViewId, bool Complete, long[] Versions, long[] Ticks, byte[][] Payloads);

/// <summary>Bytes <see cref="Offset"/>… of a snapshot of <see cref="Total"/> bytes (<see cref="Replication.ShardSnapshot.Take"/>); parts come in order.</summary>
[MemoryPackable]
internal sealed partial record ShardStatePart(uint TypeId, int Shard, long ViewId, long Total, long Offset, byte[] Bytes);

/// <summary>
/// Encoding of the state transfer messages: the MemoryPack ones (<see cref="MessageKind.ShardStateRequest"/>,
/// <see cref="MessageKind.ShardStateTail"/>, <see cref="MessageKind.ShardStatePart"/>) and the fixed-layout
/// <see cref="MessageKind.ShardStateUnavailable"/>.
/// </summary>
internal static class StateTransferMessages
{
    private const int UnavailableHeaderSize = 24;

    public static byte[] Encode<T>(MessageKind kind, T message) => MessageBodies.Encode((byte)kind, message);

    /// <summary>Decodes a body; null if it is malformed.</summary>
    public static T? TryDecode<T>(ReadOnlySpan<byte> message) where T : class => MessageBodies.TryDecode<T>(message);

    /// <summary>
    /// A tail whose arrays are all there, run in parallel and hold no null payload; null otherwise. MemoryPack
    /// reads a missing array as null, and a body with fewer members (a request's, under a tail's kind) as one
    /// whose arrays are missing.
    /// </summary>
    public static ShardStateTail? TryDecodeTail(ReadOnlySpan<byte> message) =>
        TryDecode<ShardStateTail>(message) is { Versions: not null, Ticks: not null, Payloads: not null } tail
        && tail.Versions.Length == tail.Ticks.Length && tail.Ticks.Length == tail.Payloads.Length && Array.TrueForAll(tail.Payloads, p => p is not null)
            ? tail
            : null;

    /// <summary>A part that has its bytes; null otherwise.</summary>
    public static ShardStatePart? TryDecodePart(ReadOnlySpan<byte> message) => TryDecode<ShardStatePart>(message) is { Bytes: not null } part ? part : null;

    public static byte[] ShardStateUnavailable(uint typeId, int shard, long viewId, string reason)
    {
        var text = Encoding.UTF8.GetBytes(reason);
        var bytes = new byte[UnavailableHeaderSize + text.Length];
        var writer = new WireWriter(bytes);
        writer.WriteByte((byte)MessageKind.ShardStateUnavailable);
        writer.Pad(3);
        writer.WriteUInt32(typeId);
        writer.WriteInt32(shard);
        writer.Pad(4);
        writer.WriteInt64(viewId);
        writer.WriteBytes(text);
        return bytes;
    }

    /// <summary>Reads a ShardStateUnavailable (the UTF-8 reason is in <paramref name="reason"/>).</summary>
    public static bool TryReadShardStateUnavailable(ReadOnlySpan<byte> message, out uint typeId, out int shard, out long viewId, out ReadOnlySpan<byte> reason)
    {
        var reader = new WireReader(message);
        reader.Skip(4); // kind, pad 3
        typeId = reader.ReadUInt32();
        shard = reader.ReadInt32();
        reader.Skip(4);
        viewId = reader.ReadInt64();
        reason = reader.ReadRest();
        return reader.Ok;
    }
}
