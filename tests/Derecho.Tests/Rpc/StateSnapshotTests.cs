using System.Buffers;
using Derecho.Layout;
using Derecho.Replication;
using Derecho.Rpc;
using Derecho.Tests.Support;

namespace Derecho.Tests.Rpc;

/// <summary>Snapshots for state transfer run on the protocol thread: a state that cannot be written is a reason, never an exception.</summary>
public class StateSnapshotTests
{
    [Fact]
    public void A_type_without_state_transfer_is_reported_by_name_and_the_generated_flag_says_so()
    {
        Assert.False(CanTransfer<Unsendable>());
        Assert.True(CanTransfer<Register>()); // [MemoryPackable]
        Assert.True(CanTransfer<Journal>()); // versioned fields only

        var snapshot = ShardSnapshot.TryTake(ReplicaOf(l => l.Subgroup(_ => new Unsendable())), out var problem);
        Assert.Null(snapshot);
        Assert.Contains(typeof(Unsendable).FullName!, problem);
        Assert.Contains("[MemoryPackable]", problem);
        Assert.Contains("IReplicaState", problem);
    }

    [Fact]
    public void A_failing_WriteState_is_reported_and_a_good_one_is_snapshotted()
    {
        var snapshot = ShardSnapshot.TryTake(ReplicaOf(l => l.Subgroup(_ => new FailingState())), out var problem);
        Assert.Null(snapshot);
        Assert.Contains("InvalidOperationException: disk on fire", problem);

        Assert.NotNull(ShardSnapshot.TryTake(ReplicaOf(l => l.Subgroup(_ => new Register())), out problem));
        Assert.Null(problem);
    }

    private static bool CanTransfer<T>() where T : IReplicatedType => T.CanTransferState;

    private static ShardReplica ReplicaOf(Action<LayoutBuilder> layout)
    {
        var builder = new LayoutBuilder();
        layout(builder);
        var replicas = new ReplicaStore(0, builder.Registrations, relative => relative, 0, () => { });
        return replicas.ReplicaFor(builder.Registrations[0].TypeId, 0, [0]);
    }
}

/// <summary>State transfer written by hand that fails when asked.</summary>
[Replicated]
public partial class FailingState : IReplicaState
{
    private long _count;

    [Ordered]
    public long Tick() => ++_count;

    public void WriteState(IBufferWriter<byte> writer) => throw new InvalidOperationException("disk on fire");

    public void ReadState(ReadOnlySpan<byte> state) => _count = state.Length;
}
