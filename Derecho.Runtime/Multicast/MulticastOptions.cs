namespace Derecho.Multicast;

/// <summary>Sizes of the small-message multicast.</summary>
internal sealed record MulticastOptions
{
    /// <summary>Bytes of each sender's ring. Bounds the data in flight per sender; must hold two largest messages.</summary>
    public int RingBytes { get; init; } = 8 << 20;

    /// <summary>Largest payload of one message.</summary>
    public int MaxPayloadBytes { get; init; } = 1 << 20;

    /// <summary>Checks the sizes fit together; returns the problem or null.</summary>
    public string? Validate()
    {
        if (MaxPayloadBytes <= 0) return $"MaxPayloadBytes must be positive (got {MaxPayloadBytes})";
        if ((long)RingBytes < 2L * RingEntry.SizeOf(MaxPayloadBytes))
            return $"RingBytes ({RingBytes}) must be at least twice the largest entry ({RingEntry.SizeOf(MaxPayloadBytes)} bytes for MaxPayloadBytes {MaxPayloadBytes})";
        if (RingBytes % 8 != 0) return $"RingBytes ({RingBytes}) must be a multiple of 8";
        return null;
    }
}
