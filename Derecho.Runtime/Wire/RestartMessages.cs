using MemoryPack;

namespace Derecho.Wire;

/// <summary>What a starting member reports (see <see cref="Membership.RestartReport"/>); the shard arrays run in parallel.</summary>
[MemoryPackable]
internal sealed partial record RestartHello(int Id, long ViewId, int[] Ids, long[] Endpoints, byte[] LastAdequate, uint[] TypeIds, int[] Shards, long[] Versions);

/// <summary>The restart view, its layout's origin and each shard's longest log (the source arrays run in parallel).</summary>
[MemoryPackable]
internal sealed partial record RestartViewMessage(int Leader, long ViewId, int[] Ids, long[] Endpoints, byte[] LastAdequate, uint[] TypeIds, int[] Shards, int[] Sources, long[] Versions, int[][] Holders);

/// <summary>Join the group these members run (restarted as view <see cref="ViewId"/>, or already running in it).</summary>
[MemoryPackable]
internal sealed partial record RestartRejoin(long ViewId, int[] Ids, long[] Endpoints, string Reason);

[MemoryPackable]
internal sealed partial record RestartReady(long ViewId);

[MemoryPackable]
internal sealed partial record LogTailRequest(uint TypeId, int Shard, long After);

/// <summary>
/// Part of a log tail. <see cref="Complete"/> (first chunk): the holder's log has every record after the
/// requested version; when false the receiver drops its own history and takes the holder's whole log.
/// </summary>
[MemoryPackable]
internal sealed partial record LogTailChunk(uint TypeId, int Shard, bool Complete, bool Last, long[] Versions, long[] Ticks, byte[][] Payloads);

/// <summary>Encoding of the total-restart messages (<see cref="MessageKind.RestartHello"/> to <see cref="MessageKind.LogTail"/>).</summary>
internal static class RestartMessages
{
    public static byte[] Encode<T>(MessageKind kind, T message) => MessageBodies.Encode((byte)kind, message);

    /// <summary>Decodes a body; null if it is malformed.</summary>
    public static T? TryDecode<T>(ReadOnlySpan<byte> message) where T : class => MessageBodies.TryDecode<T>(message);
}
