using System.Runtime.CompilerServices;
using MemoryPack;

namespace Derecho.Wire;

/// <summary>
/// Messages whose body is MemoryPack: <c>[kind][body]</c> (restart and state transfer). Every body type's
/// formatter (and the view log's <see cref="LoggedView"/>) is registered when this assembly loads, on one
/// thread, before any transport thread can decode: registering on first use from several threads at once
/// (a type's static constructor racing MemoryPack's formatter cache) left a formatter unset and threw inside
/// Serialize/Deserialize.
/// </summary>
internal static class MessageBodies
{
#pragma warning disable CA2255 // a library's own types, registered before its first use: what module initializers are for
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RegisterFormatters()
    {
        MemoryPackFormatterProvider.Register<RestartHello>();
        MemoryPackFormatterProvider.Register<RestartViewMessage>();
        MemoryPackFormatterProvider.Register<RestartRejoin>();
        MemoryPackFormatterProvider.Register<RestartReady>();
        MemoryPackFormatterProvider.Register<LogTailRequest>();
        MemoryPackFormatterProvider.Register<LogTailChunk>();
        MemoryPackFormatterProvider.Register<LoggedView>();
        MemoryPackFormatterProvider.Register<ShardStateRequest>();
        MemoryPackFormatterProvider.Register<ShardStateTail>();
        MemoryPackFormatterProvider.Register<ShardStatePart>();
    }

    public static byte[] Encode<T>(byte kind, T message)
    {
        var body = MemoryPackSerializer.Serialize(message);
        var bytes = new byte[1 + body.Length];
        var writer = new WireWriter(bytes);
        writer.WriteByte(kind);
        writer.WriteBytes(body);
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
}
