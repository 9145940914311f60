using System.Buffers.Binary;
using Derecho.Rpc;

namespace Derecho.Replication;

/// <summary>
/// A shard replica's state as state transfer sends it: <c>[agreed ticks i64][length i32][object state]</c>, then per
/// versioned field <c>[length i32][latest version]</c>, in the order the constructor created the fields, then
/// <c>[length i32][client sessions]</c> (<see cref="ClientSessions.WriteTo"/>). The agreed
/// time goes with it: the receiver stamps the next calls as the old members do (max(previous + 1, sender's clock)).
/// </summary>
internal static class ShardSnapshot
{
    /// <summary>Serializes a shard replica for a member new to the shard; runs on the protocol thread between deliveries.</summary>
    public static byte[] Take(ShardReplica replica)
    {
        using var buffer = new PooledBufferWriter();
        BinaryPrimitives.WriteInt64LittleEndian(buffer.GetSpan(8), replica.AgreedTicks);
        buffer.Advance(8);
        buffer.Advance(4);
        replica.Replica.WriteState(buffer);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.WrittenSpanMutable[8..], buffer.WrittenCount - 12);
        foreach (var field in replica.Context.VersionedFields)
        {
            var fieldStart = buffer.WrittenCount;
            buffer.Advance(4);
            field.WriteLatest(buffer);
            BinaryPrimitives.WriteInt32LittleEndian(buffer.WrittenSpanMutable[fieldStart..], buffer.WrittenCount - fieldStart - 4);
        }
        var sessionsStart = buffer.WrittenCount;
        buffer.Advance(4);
        replica.Context.Sessions.WriteTo(buffer);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.WrittenSpanMutable[sessionsStart..], buffer.WrittenCount - sessionsStart - 4);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>As <see cref="Take"/>, but null with the reason instead of an exception: the protocol thread must go on.</summary>
    public static byte[]? TryTake(ShardReplica replica, out string? problem)
    {
        problem = replica.CanTransferState ? null : StateTransferRule.CannotTransfer(replica.Name);
        if (problem is not null) return null;
        try
        {
            return Take(replica);
        }
        catch (Exception e) // user code (IReplicaState.WriteState) or MemoryPack: whatever it throws
        {
            problem = $"writing the state of {replica.Name} failed: {e.GetType().Name}: {e.Message}";
            return null;
        }
    }

    /// <summary>
    /// Loads what <see cref="Take"/> wrote at another member of the shard. The log records the replica
    /// lacked came first (state transfer sends them), so its persistent fields already hold every version up
    /// to the snapshot's and skip the latest here; the object state and volatile fields take it.
    /// </summary>
    public static void Restore(ShardReplica replica, ReadOnlySpan<byte> state)
    {
        if (state.Length < 8) throw new InvalidDataException($"state of type {replica.TypeId:X8} is truncated");
        var agreed = BinaryPrimitives.ReadInt64LittleEndian(state);
        if (agreed < 0 || agreed > DateTime.MaxValue.Ticks) throw new InvalidDataException($"state of type {replica.TypeId:X8} carries agreed time {agreed}, which is no time");
        state = state[8..];
        var objectLength = Section(ref state, replica.TypeId);
        replica.Replica.ReadState(state[..objectLength]);
        state = state[objectLength..];
        foreach (var field in replica.Context.VersionedFields)
        {
            var fieldLength = Section(ref state, replica.TypeId);
            field.ReadLatest(state[..fieldLength]);
            state = state[fieldLength..];
        }
        var sessionsLength = Section(ref state, replica.TypeId);
        replica.Context.Sessions.ReadFrom(state[..sessionsLength]);
        state = state[sessionsLength..];
        if (!state.IsEmpty) throw new InvalidDataException($"state of {replica.Name} shard {replica.Shard} has {state.Length} bytes left over");
        replica.Context.CommitDelivery(); // a persistent field's latest the log lacked (none when the tail came first)
        replica.AgreeAtLeast(agreed);
    }

    /// <summary>Reads a length prefix and checks it fits.</summary>
    private static int Section(ref ReadOnlySpan<byte> section, uint typeId)
    {
        if (section.Length < 4) throw new InvalidDataException($"state of type {typeId:X8} is truncated");
        var length = BinaryPrimitives.ReadInt32LittleEndian(section);
        if (length < 0 || length > section.Length - 4) throw new InvalidDataException($"state of type {typeId:X8} has a part of {length} bytes, {section.Length - 4} left");
        section = section[4..];
        return length;
    }
}
