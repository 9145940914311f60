using System.ComponentModel;

namespace Derecho.Rpc;

/// <summary>
/// Implemented by the source generator on every <c>[Replicated]</c> type: a switch over stable method
/// ids that unmarshals arguments, calls the handler and marshals its result. No reflection.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IReplicatedObject
{
    /// <summary>Runs an <c>[Ordered]</c> method; returns false when the id is unknown.</summary>
    bool DispatchOrdered(uint methodId, ReadOnlySpan<byte> arguments, PooledBufferWriter reply);

    /// <summary>Runs a <c>[P2PCallable]</c> method; returns false when the id is unknown.</summary>
    bool DispatchP2P(uint methodId, ReadOnlySpan<byte> arguments, PooledBufferWriter reply);

    /// <summary>
    /// Runs a <c>[Trigger]</c> method: reads the arguments (before returning: the span is not kept), calls the handler
    /// and returns its completion; null when the id is unknown. Types without trigger methods keep this default.
    /// </summary>
    System.Threading.Tasks.ValueTask? DispatchTrigger(uint methodId, ReadOnlySpan<byte> arguments) => null;

    /// <summary>Writes the replica's whole state, for a member that joins (state transfer).</summary>
    void WriteState(PooledBufferWriter writer);

    /// <summary>Replaces the replica's state with what <see cref="WriteState"/> wrote at another member.</summary>
    void ReadState(ReadOnlySpan<byte> state);
}

/// <summary>Static identity of a generated replicated type, used as a generic constraint.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IReplicatedType : IReplicatedObject
{
    /// <summary>Stable id of the type (a hash of its full name), the same in every process.</summary>
    static abstract uint ReplicatedTypeId { get; }

    /// <summary>
    /// Whether a member new to a shard can be sent the replica's state: the type is <c>[MemoryPackable]</c>,
    /// implements <see cref="IReplicaState"/>, or keeps all its state in versioned fields. A group hosting a
    /// type that cannot refuses joiners, which could never be given its state.
    /// </summary>
    static abstract bool CanTransferState { get; }
}
