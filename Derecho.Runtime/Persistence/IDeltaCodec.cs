using System.Buffers;

namespace Derecho.Persistence;

/// <summary>
/// Lets a <see cref="Persistent{T}"/> log what changed instead of the whole value: a large value that
/// changes a little per update costs a small record. Every <c>checkpointEvery</c> versions a full value
/// is logged, so recovery replays at most that many deltas per checkpoint. Reads never see deltas: the
/// field keeps full values in memory.
/// </summary>
public interface IDeltaCodec<T>
{
    /// <summary>Writes what turns <paramref name="previous"/> into <paramref name="current"/>.</summary>
    void WriteDelta(T previous, T current, IBufferWriter<byte> writer);

    /// <summary>Rebuilds the value from the previous one and a delta written by <see cref="WriteDelta"/>.</summary>
    T ApplyDelta(T previous, ReadOnlySpan<byte> delta);
}
