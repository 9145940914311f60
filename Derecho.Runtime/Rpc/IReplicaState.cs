namespace Derecho.Rpc;

/// <summary>
/// Implement on a <c>[Replicated]</c> type to control its state transfer; otherwise mark the type
/// <c>[MemoryPackable]</c> and the generator serializes it with MemoryPack.
/// </summary>
public interface IReplicaState
{
    /// <summary>Writes the whole state.</summary>
    void WriteState(System.Buffers.IBufferWriter<byte> writer);

    /// <summary>Replaces the whole state.</summary>
    void ReadState(ReadOnlySpan<byte> state);
}
