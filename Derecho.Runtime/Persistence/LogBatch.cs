namespace Derecho.Persistence;

/// <summary>
/// Records on their way to disk, back to back in one buffer exactly as the segment files hold them: the appender
/// writes each record here once (header, payload, CRC), and the flusher writes the buffer with one call per segment.
/// <see cref="Runs"/> says where each segment's records start, since a batch may straddle a segment roll.
/// </summary>
internal sealed class LogBatch(int capacity)
{
    public byte[] Buffer { get; } = new byte[capacity];

    /// <summary>Bytes filled.</summary>
    public int Length { get; set; }

    /// <summary>Records in the batch.</summary>
    public int Records { get; set; }

    /// <summary>Version of the newest record (valid when <see cref="Records"/> is positive).</summary>
    public long Highest { get; set; } = -1;

    /// <summary>(segment, first byte of its records in <see cref="Buffer"/>), in order.</summary>
    public List<(int Segment, int Start)> Runs { get; } = new(2);

    public int Remaining => Buffer.Length - Length;

    /// <summary>Room for a record of <paramref name="size"/> bytes for <paramref name="segment"/>: the span to write it into.</summary>
    public Span<byte> Reserve(int segment, int size)
    {
        if (Runs.Count == 0 || Runs[^1].Segment != segment) Runs.Add((segment, Length));
        var span = Buffer.AsSpan(Length, size);
        Length += size;
        return span;
    }

    public void Clear()
    {
        Length = 0;
        Records = 0;
        Highest = -1;
        Runs.Clear();
    }
}
