using MemoryPack;

namespace Derecho.Membership;

/// <summary>Kinds of the total-restart messages: [kind][MemoryPack body]. Kinds 16–23 are the join and state messages, 30–31 the rest of state transfer.</summary>
internal enum RestartMessageKind : byte
{
    /// <summary>A starting member to every member it knows of: <see cref="RestartHello"/>.</summary>
    Hello = 24,
    /// <summary>The restart leader to the restart view's members: <see cref="RestartViewMessage"/>.</summary>
    View = 25,
    /// <summary>To a starting member that is not in the restart view (or finds a group running): join it. <see cref="RestartRejoin"/>.</summary>
    Rejoin = 26,
    /// <summary>A member of the restart view has registered its memory for it: <see cref="RestartReady"/>.</summary>
    Ready = 27,
    /// <summary>A member behind the longest log asks its holder for the records after its own: <see cref="LogTailRequest"/>.</summary>
    LogTailRequest = 28,
    /// <summary>Records of a log tail, in order, several per message: <see cref="LogTailChunk"/>.</summary>
    LogTail = 29,
}

/// <summary>What a starting member reports (see <see cref="RestartReport"/>); the shard arrays run in parallel.</summary>
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

/// <summary>A view as the view log keeps it.</summary>
[MemoryPackable]
internal sealed partial record LoggedView(long ViewId, int[] Ids, long[] Endpoints, byte[] LastAdequate);

/// <summary>Encoding of the restart messages.</summary>
internal static class RestartMessages
{
    public static bool IsRestartKind(byte kind) => kind is >= (byte)RestartMessageKind.Hello and <= (byte)RestartMessageKind.LogTail;

    public static byte[] Encode<T>(RestartMessageKind kind, T message) => MessageBodies.Encode((byte)kind, message);

    /// <summary>Decodes a body; null if it is malformed.</summary>
    public static T? TryDecode<T>(ReadOnlySpan<byte> message) where T : class => MessageBodies.TryDecode<T>(message);
}
