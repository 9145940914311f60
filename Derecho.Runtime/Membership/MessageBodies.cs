using MemoryPack;

namespace Derecho.Membership;

/// <summary>
/// Membership messages whose body is MemoryPack: <c>[kind][body]</c> (restart and state transfer). Every body
/// type's formatter is resolved once, here, before any transport thread decodes: MemoryPack's first use of a
/// type from several threads at once was seen to throw inside Deserialize.
/// </summary>
internal static class MessageBodies
{
    static MessageBodies()
    {
        Warm<RestartHello>();
        Warm<RestartViewMessage>();
        Warm<RestartRejoin>();
        Warm<RestartReady>();
        Warm<LogTailRequest>();
        Warm<LogTailChunk>();
        Warm<LoggedView>();
        Warm<ShardStateRequest>();
        Warm<ShardStateTail>();
        Warm<ShardStatePart>();
    }

    public static byte[] Encode<T>(byte kind, T message)
    {
        var body = MemoryPackSerializer.Serialize(message);
        var bytes = new byte[1 + body.Length];
        bytes[0] = kind;
        body.CopyTo(bytes, 1);
        return bytes;
    }

    /// <summary>Decodes a body; null if it is malformed (a peer that lies costs a log line, never the member).</summary>
    public static T? TryDecode<T>(ReadOnlySpan<byte> message) where T : class
    {
        try { return MemoryPackSerializer.Deserialize<T>(message[1..]); }
        catch (Exception e) when (e is MemoryPackSerializationException or NullReferenceException or IndexOutOfRangeException or ArgumentException or InvalidOperationException or OverflowException)
        {
            return null;
        }
    }

    private static void Warm<T>() where T : class => MemoryPackSerializer.Deserialize<T>(MemoryPackSerializer.Serialize<T>(null));
}
