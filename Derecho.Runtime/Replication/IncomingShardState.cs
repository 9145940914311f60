using Derecho.Membership;
using Derecho.Wire;

namespace Derecho.Replication;

/// <summary>
/// One shard's state arriving from one old member for one view: the log records come first (applied as they
/// arrive; they are history every holder shares, so a prefix of them is never wrong), then the snapshot in
/// parts, put together here. A transfer whose view ended is dropped with its parts.
/// </summary>
internal sealed class IncomingShardState(int from, long viewId)
{
    private byte[]? _snapshot;
    private long _received;

    public int From { get; } = from;

    public long ViewId { get; } = viewId;

    /// <summary>Log records appended so far.</summary>
    public long Records { get; set; }

    /// <summary>Adds the next part; returns the whole snapshot once its last part is in.</summary>
    public byte[]? Add(ShardStatePart part)
    {
        if (part.Total is <= 0 or > int.MaxValue || part.Offset != _received || part.Bytes.Length > part.Total - part.Offset || (_snapshot is not null && _snapshot.Length != part.Total))
            throw new InvalidDataException($"part at {part.Offset} ({part.Bytes.Length} bytes) of a state of {part.Total} bytes does not follow the {_received} bytes received");
        _snapshot ??= GC.AllocateUninitializedArray<byte>((int)part.Total);
        part.Bytes.CopyTo(_snapshot, part.Offset);
        _received += part.Bytes.Length;
        return _received == _snapshot.Length ? _snapshot : null;
    }
}
