using Derecho.Errors;

namespace Derecho.Persistence;

/// <summary>A log record in the middle of a log failed its check: the replica must not serve from it.</summary>
public sealed class LogCorruptedException(string file, long offset, string reason)
    : DerechoException($"persistent log {file} is corrupt at offset {offset}: {reason}")
{
    /// <summary>The segment file.</summary>
    public string File { get; } = file;

    /// <summary>Byte offset of the bad record.</summary>
    public long Offset { get; } = offset;
}
