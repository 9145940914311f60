using Derecho.Diagnostics;
using Derecho.Persistence;
using Derecho.Rpc;

namespace Derecho.Replication;

internal sealed class ReplicaContext(int myId, int[] members, string typeName, Func<string, string> storage, Action<ReplicaLog> logCreated, int retainVersions = 0, PersistentLogOptions? logOptions = null,
    MetricTags logTags = default, Func<IRpcInvoker?>? invoker = null) : IReplicaContext, IDisposable
{
    private readonly HashSet<string> _names = new();
    private bool _sealed;
    private volatile int[] _members = members;

    public int MyId { get; } = myId;

    public int Shard { get; init; }

    public IReadOnlyList<int> Members => _members;

    /// <summary>Members of the shard in the installed view (set on every view change).</summary>
    public int[] MembersArray
    {
        get => _members;
        set => _members = value;
    }

    /// <summary>The replica's one durable log, shared by its persistent fields (null while it has none).</summary>
    public ReplicaLog? Log { get; private set; }

    public DeliveryInfo CurrentDelivery { get; set; }

    /// <summary>External clients' sessions in this shard: the outcomes of calls they may re-send.</summary>
    public ClientSessions Sessions { get; } = new();

    /// <summary>Every versioned field, in creation order (state transfer sends their latest versions).</summary>
    public List<IVersionedField> VersionedFields { get; } = new();

    public SubgroupHandle<T> Subgroup<T>() where T : class, IReplicatedType =>
        invoker?.Invoke() is { } engine ? new SubgroupHandle<T>(engine)
            : throw new InvalidOperationException($"{typeName}: this replica's member cannot make calls yet (its RPC engine is not running)");

    public Volatile<T> Volatile<T>(string name, T initial = default!)
    {
        Claim(name);
        var field = new Volatile<T>(name, initial) { RetainVersions = retainVersions };
        VersionedFields.Add(field);
        return field;
    }

    public Persistent<T> Persistent<T>(string name, T initial = default!) => CreatePersistent(name, initial, null, 64);

    public Persistent<T> Persistent<T>(string name, T initial, IDeltaCodec<T> deltas, int checkpointEvery = 64) =>
        CreatePersistent(name, initial, deltas ?? throw new ArgumentNullException(nameof(deltas)), checkpointEvery);

    private Persistent<T> CreatePersistent<T>(string name, T initial, IDeltaCodec<T>? deltas, int checkpointEvery)
    {
        Claim(name);
        if (Log is null)
        {
            Log = new ReplicaLog(storage(Sanitize(typeName)), logOptions, logTags);
            logCreated(Log);
        }
        var field = new Persistent<T>(name, initial, Log, deltas, checkpointEvery) { RetainVersions = retainVersions };
        VersionedFields.Add(field);
        return field;
    }

    /// <summary>
    /// The replica's constructor returned (each persistent field was recovered as it was created). A replica with a log
    /// logs its client sessions in it too, recovered here.
    /// </summary>
    public void Seal()
    {
        _sealed = true;
        if (Log is not { } log) return;
        Sessions.Attach(log);
        log.Seal();
    }

    /// <summary>The delivery's handler threw: its fields were rolled back (<see cref="Rpc.OrderedContext"/>), and nothing of it is logged.</summary>
    public void DiscardDelivery() => Log?.DiscardStaged();

    /// <summary>Logs what the delivery just handled changed, as one record; false if it changed no persistent field.</summary>
    public bool CommitDelivery() => Log?.Commit() ?? false;

    /// <summary>
    /// Appends a log tail batch to the replica's log and replays it into its fields (records it has already
    /// are skipped). An incomplete batch first drops the replica's own history; returns whether it did.
    /// </summary>
    public bool ApplyTail(LogTailBatch batch)
    {
        if (Log is not { } log) return false;
        if (!batch.Complete)
        {
            TruncateAfter(-1);
            LogChangedSinceConstructor = true;
        }
        for (var i = 0; i < batch.Versions.Length; i++)
        {
            if (batch.Versions[i] <= log.LastVersion) continue;
            log.AppendReplicated(batch.Versions[i], batch.Ticks[i], batch.Payloads[i]);
            LogChangedSinceConstructor = true;
        }
        return !batch.Complete;
    }

    /// <summary>
    /// Whether <see cref="ApplyTail"/> changed the log after the replica's constructor had recovered from it:
    /// the replica must then be constructed again (<see cref="ReplicaStore.Reconstruct"/>).
    /// </summary>
    public bool LogChangedSinceConstructor { get; private set; }

    /// <summary>Drops every version after <paramref name="version"/> from the log and from every versioned field.</summary>
    public void TruncateAfter(long version)
    {
        Log?.TruncateAfter(version);
        foreach (var field in VersionedFields) field.DropAfter(version);
        Sessions.DropAfter(version);
    }

    public void Dispose() => Log?.Dispose();

    private void Claim(string name)
    {
        // A field made later exists only at the replicas that ran that code, and state transfer and recovery do not know it.
        if (_sealed)
            throw new InvalidOperationException($"{typeName}: versioned field '{name}' was created after the replica's constructor returned; create every Volatile and Persistent field in the constructor");
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("a versioned field needs a name", nameof(name));
        if (!_names.Add(name)) throw new ArgumentException($"{typeName} already has a versioned field named '{name}'", nameof(name));
    }

    private static string Sanitize(string name) => string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_'));
}
