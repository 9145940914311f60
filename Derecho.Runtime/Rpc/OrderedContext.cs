using System.Buffers;
using System.Text;

namespace Derecho.Rpc;

/// <summary>
/// Deterministic replacements for clocks and randomness inside <c>[Ordered]</c> handlers: every replica
/// handles the same call with the same timestamp and the same random sequence, so replicas never diverge.
/// The DER0001/DER0002 code fixes rewrite <c>DateTime.UtcNow</c>, <c>new Random()</c> and
/// <c>Guid.NewGuid()</c> to these.
/// </summary>
public static class OrderedContext
{
    [ThreadStatic] private static DeliveryInfo? t_current;
    [ThreadStatic] private static Random? t_random;
    [ThreadStatic] private static INotificationSink? t_sink;
    [ThreadStatic] private static int t_notified;
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_scratch;
    [ThreadStatic] private static List<Persistence.IVersionedField>? t_written;

    /// <summary>Longest topic, in UTF-8 bytes.</summary>
    public const int MaxTopicBytes = Wire.NotificationMessages.MaxTopicBytes;

    /// <summary>The call being handled; throws outside an ordered handler.</summary>
    public static DeliveryInfo Current => t_current ??
        throw new InvalidOperationException("OrderedContext is only available while an [Ordered] handler runs on the delivery thread");

    /// <summary>The agreed UTC time of the call (use instead of <c>DateTime.UtcNow</c>).</summary>
    public static DateTime Timestamp => Current.Timestamp;

    /// <summary>A random generator seeded from the call's place in the total order (use instead of <c>new Random()</c>).</summary>
    public static Random Random
    {
        get
        {
            var current = Current;
            return t_random ??= new Random(unchecked((int)(current.Sequence * 0x9E3779B1L ^ (current.Sequence >> 32))));
        }
    }

    /// <summary>A GUID drawn from <see cref="Random"/> (use instead of <c>Guid.NewGuid()</c>).</summary>
    public static Guid NewGuid()
    {
        Span<byte> bytes = stackalloc byte[16];
        Random.NextBytes(bytes);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4 layout
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes);
    }

    /// <summary>
    /// Emits a notification to the shard's subscribers (external clients, see <see cref="ShardHandle{T}.SubscribeAsync{TPayload}"/>):
    /// every replica that delivers the call records it under the call's version, its rank in the call and the agreed
    /// time. <paramref name="payload"/> is serialized with MemoryPack (a <c>byte[]</c> is sent as it is). Call it from an <c>[Ordered]</c> handler only.
    /// </summary>
    public static void Notify<T>(string topic, T payload)
    {
        var current = Current;
        CheckTopic(topic);
        if (typeof(T) == typeof(byte[])) // bytes travel as they are (a byte[] subscriber reads them back unchanged)
        {
            Record(current, topic, (byte[]?)(object?)payload ?? []);
            return;
        }
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(256);
        scratch.ResetWrittenCount();
        MemoryPack.MemoryPackSerializer.Serialize(scratch, payload);
        Record(current, topic, scratch.WrittenSpan);
    }

    /// <summary>As <see cref="Notify{T}(string, T)"/> with a payload that is already bytes (subscribers read it as <c>byte[]</c> or their own MemoryPack type).</summary>
    public static void Notify(string topic, ReadOnlySpan<byte> payload)
    {
        var current = Current;
        CheckTopic(topic);
        Record(current, topic, payload);
    }

    private static void CheckTopic(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (topic.Length > MaxTopicBytes || Encoding.UTF8.GetByteCount(topic) > MaxTopicBytes)
            throw new ArgumentException($"a notification topic may have at most {MaxTopicBytes} UTF-8 bytes", nameof(topic));
    }

    private static void Record(in DeliveryInfo current, string topic, ReadOnlySpan<byte> payload)
    {
        var index = t_notified++; // counted even where nothing records, so every replica numbers alike
        t_sink?.Record(current, index, topic, payload);
    }

    internal static void Enter(DeliveryInfo delivery, INotificationSink? notifications = null)
    {
        t_current = delivery;
        t_random = null;
        t_sink = notifications;
        t_notified = 0;
    }

    /// <summary>A field's first write in the handler being run: published or dropped when it ends (<see cref="Exit(bool)"/>).</summary>
    internal static void Staged(Persistence.IVersionedField field) => (t_written ??= new()).Add(field);

    internal static void Exit() => Exit(applied: true);

    /// <summary>
    /// The handler ended. <paramref name="applied"/>: it returned, so what it wrote and notified takes effect. Otherwise it
    /// threw: the call changes nothing (every replica throws alike, so every replica drops alike). Its log record is
    /// dropped by the caller (<c>ReplicaContext.DiscardDelivery</c>).
    /// </summary>
    internal static void Exit(bool applied)
    {
        if (t_written is { Count: > 0 } written)
        {
            foreach (var field in written)
            {
                if (applied) field.PublishStaged();
                else field.DiscardStaged();
            }
            written.Clear();
        }
        t_sink?.Complete(applied);
        t_current = null;
        t_random = null;
        t_sink = null;
    }
}
