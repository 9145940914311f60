using System.Diagnostics.Metrics;
using Derecho.Diagnostics;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Replication;

namespace Derecho.Hosting;

/// <summary>
/// Reads a member's <see cref="MemberStatus"/> from its parts, from any thread (each value is a snapshot; a view
/// change may be under way). While the member runs it also reports its shards' versions to
/// <see cref="DerechoMetrics.ShardVersion"/>.
/// </summary>
internal sealed class MemberStatusReader : IDisposable
{
    private readonly int _myId;
    private readonly ViewSlot _views;
    private readonly ReplicaStore _replicas;
    private readonly Durability _durability;
    private readonly IReadOnlyList<SubgroupSpec> _specs;
    private readonly MemberLifetime _lifetime;
    private readonly IDisposable _versions;

    public MemberStatusReader(int myId, ViewSlot views, ReplicaStore replicas, Durability durability, IReadOnlyList<SubgroupSpec> specs, MemberLifetime lifetime)
    {
        _myId = myId;
        _views = views;
        _replicas = replicas;
        _durability = durability;
        _specs = specs;
        _lifetime = lifetime;
        _versions = DerechoMetrics.ShardVersions.Add(ReportVersions);
    }

    public MemberStatus Read()
    {
        if (_lifetime.HasFailed) return new MemberStatus(_myId, MemberState.Stopped, -1, [], [], _lifetime.Failed.Result.Reason);
        if (_views.Current is not { } view) return new MemberStatus(_myId, MemberState.Starting, -1, [], []);
        var shards = new List<ShardStatus>();
        foreach (var shard in view.MyShards)
        {
            if (_replicas.TryGetReplica(shard.TypeId, shard.Shard) is not { } replica) continue;
            var log = replica.Context.Log;
            shards.Add(new ShardStatus(replica.Name, shard.Shard, shard.Members.Length, MaxReplicasOf(shard.TypeId), log is not null,
                replica.DeliveredVersion, log?.LastVersion ?? -1, log?.PersistedVersion ?? -1, _durability.GloballyPersistedVersionOf(shard.TypeId, shard.Shard), shard.TypeId));
        }
        var state = !view.Layout.IsAdequate ? MemberState.Inadequate
            : StateTransfer.IsAwaiting(view) ? MemberState.LoadingState
            : MemberState.Running;
        return new MemberStatus(_myId, state, view.View.Id, view.View.Members, shards, view.Layout.Inadequate);
    }

    private int MaxReplicasOf(uint typeId)
    {
        foreach (var spec in _specs)
            if (spec.TypeId == typeId) return spec.Policy.MaxReplicas;
        return int.MaxValue;
    }

    private void ReportVersions(List<Measurement<long>> measurements)
    {
        if (_lifetime.HasFailed) return;
        var member = MetricTags.ForMember(_myId);
        foreach (var shard in Read().Shards)
        {
            var type = new KeyValuePair<string, object?>(MetricTags.TypeKey, shard.Type);
            var index = new KeyValuePair<string, object?>(MetricTags.ShardKey, shard.Shard);
            measurements.Add(new(shard.Delivered, DerechoMetrics.DeliveredVersion, member, type, index));
            if (!shard.Persistent) continue;
            measurements.Add(new(shard.Persisted, DerechoMetrics.PersistedVersion, member, type, index));
            measurements.Add(new(shard.GloballyPersisted, DerechoMetrics.GloballyPersistedVersion, member, type, index));
        }
    }

    public void Dispose() => _versions.Dispose();
}
