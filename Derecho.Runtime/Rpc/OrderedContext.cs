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

    internal static void Enter(DeliveryInfo delivery)
    {
        t_current = delivery;
        t_random = null;
    }

    internal static void Exit()
    {
        t_current = null;
        t_random = null;
    }
}
