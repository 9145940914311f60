namespace Derecho.Persistence;

/// <summary>Sizes and policies of a persistent log.</summary>
internal sealed record PersistentLogOptions
{
    /// <summary>A segment file is closed and a new one started past this size.</summary>
    public long SegmentBytes { get; init; } = 64L << 20;

    /// <summary>Largest record payload.</summary>
    public int MaxRecordBytes { get; init; } = 64 << 20;
}
