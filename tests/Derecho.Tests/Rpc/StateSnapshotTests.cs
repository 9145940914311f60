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

/// <summary>
/// The agreed time is part of a shard's history: a replica that got the state by transfer, or recovered it from its
/// log, must stamp the next call as the replicas that were there all along do. Failed on the old code: both started
/// from 0, so a call whose sender's clock was behind the shard's agreed time got the sender's time there and
/// previous + 1 elsewhere (OrderedContext.Timestamp, and every version's time, differed between replicas).
/// </summary>
public class AgreedTimeTests
{
    [Fact]
    public void A_snapshot_carries_the_agreed_time_and_the_receiver_stamps_the_next_call_alike()
    {
        var (sender, _) = Replica(l => l.Subgroup(_ => new Register()));
        sender.Agree(5_000_000);
        var (receiver, _) = Replica(l => l.Subgroup(_ => new Register()));
        ShardSnapshot.Restore(receiver, ShardSnapshot.Take(sender));
        Assert.Equal(5_000_000, receiver.AgreedTicks);
        sender.Agree(4_000_000); // a sender whose clock is behind
        receiver.Agree(4_000_000);
        Assert.Equal(sender.AgreedTicks, receiver.AgreedTicks);
    }

    [Fact]
    public void A_replica_recovered_from_its_log_starts_at_its_newest_versions_time()
    {
        using var data = new TemporaryDirectory();
        var (first, _) = Replica(l => l.Subgroup(c => new Journal(c)), data.Path);
        var at = new DateTime(2026, 6, 1, 12, 0, 0, DateTimeKind.Utc);
        OrderedContext.Enter(new DeliveryInfo(0, 1, 1, at));
        try { ((Journal)first.Replica).Add(5); }
        finally { OrderedContext.Exit(); }
        first.Context.CommitDelivery();
        first.Context.Log!.Flush();
        first.Context.Dispose();

        var (recovered, _) = Replica(l => l.Subgroup(c => new Journal(c)), data.Path);
        Assert.Equal(at.Ticks, recovered.AgreedTicks);
    }

    private static (ShardReplica Replica, ReplicaStore Store) Replica(Action<LayoutBuilder> layout, string? directory = null)
    {
        var builder = new LayoutBuilder();
        layout(builder);
        var root = directory ?? Path.Combine(Path.GetTempPath(), "derecho-agreed-" + Guid.NewGuid().ToString("N"));
        var store = new ReplicaStore(0, builder.Registrations, relative => Path.Combine(root, relative), 0, () => { });
        return (store.ReplicaFor(builder.Registrations[0].TypeId, 0, [0]), store);
    }
}
