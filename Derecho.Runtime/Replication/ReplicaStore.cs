using System.Collections.Concurrent;
using Derecho.Diagnostics;
using Derecho.Layout;
using Derecho.Persistence;
using Derecho.Rpc;
using Derecho.Wire;

namespace Derecho.Replication;

/// <summary>
/// The replicas this member hosts, one per shard it holds or held, created the first time a view puts it in
/// the shard (their versioned fields recovered from disk), and the replicated types it can host.
/// </summary>
internal sealed class ReplicaStore
{
    private readonly int _myId;
    private readonly Dictionary<uint, SubgroupRegistration> _registrations = new();
    private readonly ConcurrentDictionary<(uint TypeId, int Shard), ShardReplica> _replicas = new();
    private readonly List<ReplicaLog> _logs = new();
    private readonly Func<string, string> _storage;
    private readonly int _retainVersions;
    private readonly Action _durable;
    private volatile ShardReplica[] _replicaList = [];

    /// <summary>
    /// <paramref name="storage"/> maps a path relative to this member's data directory to a full path;
    /// <paramref name="durable"/> is called (on a flusher thread) when a replica log moved its persisted version.
    /// </summary>
    public ReplicaStore(int myId, IEnumerable<SubgroupRegistration> registrations, Func<string, string> storage, int retainVersions, Action durable,
        NotificationFeeds? notifications = null)
    {
        Notifications = notifications ?? new NotificationFeeds(4096, 16 << 20);
        _myId = myId;
        _storage = storage;
        _retainVersions = retainVersions;
        _durable = durable;
        foreach (var registration in registrations)
        {
            if (registration.TypeId is RpcHeaders.TimeBarrierTypeId or RpcHeaders.SessionTypeId or RpcHeaders.TraceTypeId)
                throw new InvalidOperationException($"{registration.Name}: type id {registration.TypeId} is reserved");
            if (!_registrations.TryAdd(registration.TypeId, registration))
                throw new InvalidOperationException($"{registration.Name}: a replicated type with id {registration.TypeId:X8} is already registered ({_registrations[registration.TypeId].Name})");
        }
        JoinRefusal = StateTransferRule.WhyJoinsAreRefused(_registrations.Values);
    }

    /// <summary>The member's RPC engine, which replicas' contexts hand out (<see cref="IReplicaContext.Subgroup{T}"/>); set once it exists.</summary>
    public IRpcInvoker? Invoker { get; set; }

    /// <summary>Why this member refuses every process that asks to join (a hosted type cannot transfer its state), or null.</summary>
    public string? JoinRefusal { get; }

    /// <summary>Every shard's recent notifications at this member.</summary>
    public NotificationFeeds Notifications { get; }

    /// <summary>The log of every replica hosted here that has persistent fields.</summary>
    public IReadOnlyList<ReplicaLog> Logs => _logs;

    /// <summary>Replicas hosted here (shards this member holds or held); an array, read by the protocol thread every iteration.</summary>
    public ShardReplica[] All => _replicaList;

    public bool HasReplicatedType(uint typeId) => _registrations.ContainsKey(typeId);

    public string NameOf(uint typeId) => _registrations.TryGetValue(typeId, out var r) ? r.Name : $"type {typeId:X8}";

    /// <summary>The replica of a shard hosted here, created (with its versioned fields, recovered from disk) the first time.</summary>
    public ShardReplica ReplicaFor(uint typeId, int shard, int[] members)
    {
        if (_replicas.TryGetValue((typeId, shard), out var existing)) return existing;
        var registration = _registrations[typeId];
        var (instance, context) = Construct(registration, shard, members);
        var replica = new ShardReplica(typeId, shard, registration.Name, instance, context, registration.CanTransferState, Notifications);
        _replicas[(typeId, shard)] = replica;
        _replicaList = [.. _replicaList, replica];
        return replica;
    }

    /// <summary>
    /// Records reached the replica's log after its constructor had recovered from it — a restart's catch-up to the
    /// longest log, or the log tail of a state transfer — and a constructor may derive plain state from its fields
    /// (KvStore's index), which would miss them. So the replica is constructed again, on a fresh context, over the
    /// now-complete log; the first is dropped. Called before anything delivers to it, reads it or snapshots it.
    /// </summary>
    public void Reconstruct(ShardReplica replica)
    {
        var old = replica.Context;
        if (!old.LogChangedSinceConstructor) return;
        if (old.Log is { } log)
        {
            log.Durable -= _durable;
            _logs.Remove(log);
        }
        old.Dispose(); // flushes: the new constructor reads every record from disk
        var (instance, context) = Construct(_registrations[replica.TypeId], replica.Shard, old.MembersArray);
        replica.Replace(instance, context);
    }

    /// <summary>Runs the registered factory on a new context: each persistent field is recovered from disk as the constructor creates it.</summary>
    private (IReplicatedObject Replica, ReplicaContext Context) Construct(SubgroupRegistration registration, int shard, int[] members)
    {
        var directory = registration.Spec.Policy.Shards == 1 ? "" : $"shard-{shard}";
        var tags = new MetricTags(_myId, registration.Name, shard);
        var context = new ReplicaContext(_myId, members, registration.Name, relative => _storage(Path.Combine(directory, relative)), OnReplicaLog, _retainVersions, logTags: tags,
            invoker: () => Invoker)
        { Shard = shard };
        var replica = registration.Factory(context);
        context.Seal(); // fields come only from the constructor
        return (replica, context);
    }

    /// <summary>The replica of a shard if this member ever held it.</summary>
    public ShardReplica? TryGetReplica(uint typeId, int shard) => _replicas.TryGetValue((typeId, shard), out var replica) ? replica : null;

    /// <summary>A new view's layout: each replica's context sees its shard's members in it.</summary>
    public void OnViewInstalled(GroupLayout layout)
    {
        foreach (var replica in _replicaList)
            if (layout.Find(replica.TypeId) is { } subgroup && replica.Shard < subgroup.Shards.Length)
                replica.Context.MembersArray = subgroup.Shards[replica.Shard];
    }

    /// <summary>Closes every replica log (flushing what is still in memory).</summary>
    public void CloseLogs()
    {
        foreach (var log in _logs) log.Dispose();
    }

    /// <summary>Called (on a flusher thread) with the reason when a replica's log can no longer be written: the member must stop.</summary>
    public Action<string>? LogBroken { get; set; }

    private void OnReplicaLog(ReplicaLog log)
    {
        _logs.Add(log);
        // Replies wait for the disk: the protocol thread must look again when the flusher finishes a batch.
        log.Durable += _durable;
        // A log that cannot be written never acknowledges again: stop now, not at the next delivery, or every durable call
        // of the shard waits for this member's reply until its timeout.
        log.Broken += e => LogBroken?.Invoke($"the log in {log.Directory} cannot be written ({e.Message}); this member can no longer make updates durable, so it stops");
    }
}
