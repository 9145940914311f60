using Derecho.Persistence;

namespace Derecho.Rpc;

/// <summary>What a replica knows about where it runs and about the message it is handling.</summary>
public interface IReplicaContext
{
    /// <summary>This member's id.</summary>
    int MyId { get; }

    /// <summary>Members of this replica's shard, in rank order.</summary>
    IReadOnlyList<int> Members { get; }

    /// <summary>The ordered call being handled (valid inside an <c>[Ordered]</c> handler).</summary>
    DeliveryInfo CurrentDelivery { get; }

    /// <summary>A field that keeps every version in memory; <paramref name="name"/> is unique within the type.</summary>
    Volatile<T> Volatile<T>(string name, T initial = default!);

    /// <summary>
    /// A field that keeps every version in memory and in a durable log under the member's data directory;
    /// after a restart it comes back with its versions.
    /// </summary>
    Persistent<T> Persistent<T>(string name, T initial = default!);

    /// <summary>
    /// A persistent field that logs deltas through <paramref name="deltas"/>, with a full value every
    /// <paramref name="checkpointEvery"/> versions.
    /// </summary>
    Persistent<T> Persistent<T>(string name, T initial, IDeltaCodec<T> deltas, int checkpointEvery = 64);
}

/// <summary>Identity of a delivered ordered call, the same at every replica.</summary>
/// <param name="SenderId">Member that multicast the call.</param>
/// <param name="SenderIndex">The sender's own message counter for it.</param>
/// <param name="Sequence">Global position in the total order.</param>
/// <param name="Timestamp">Agreed UTC time of the call: the sender's clock, made monotonic in delivery order.</param>
/// <param name="ViewId">The view that delivered the call.</param>
public readonly record struct DeliveryInfo(int SenderId, long SenderIndex, long Sequence, DateTime Timestamp, long ViewId = 0)
{
    /// <summary>Version number of updates made by this call: (view, sequence), increasing along the total order.</summary>
    public long Version => (ViewId << 40) | Sequence;
}

internal sealed class ReplicaContext(int myId, int[] members, string typeName, Func<string, string> storage, Action<Persistence.ReplicaLog> logCreated, int retainVersions = 0, Persistence.PersistentLogOptions? logOptions = null) : IReplicaContext, IDisposable
{
    private readonly HashSet<string> _names = new();
    private volatile int[] _members = members;

    public int MyId { get; } = myId;

    public IReadOnlyList<int> Members => _members;

    /// <summary>Members of the shard in the installed view (set on every view change).</summary>
    public int[] MembersArray
    {
        get => _members;
        set => _members = value;
    }

    /// <summary>The replica's one durable log, shared by its persistent fields (null while it has none).</summary>
    public Persistence.ReplicaLog? Log { get; private set; }

    public DeliveryInfo CurrentDelivery { get; set; }

    /// <summary>Every versioned field, in creation order (state transfer sends their latest versions).</summary>
    public List<IVersionedField> VersionedFields { get; } = new();

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
            Log = new Persistence.ReplicaLog(storage(Sanitize(typeName)), logOptions);
            logCreated(Log);
        }
        var field = new Persistent<T>(name, initial, Log, deltas, checkpointEvery) { RetainVersions = retainVersions };
        VersionedFields.Add(field);
        return field;
    }

    /// <summary>The replica's constructor returned (each persistent field was recovered as it was created).</summary>
    public void Seal() => Log?.Seal();

    /// <summary>Logs what the delivery just handled changed, as one record; false if it changed no persistent field.</summary>
    public bool CommitDelivery() => Log?.Commit() ?? false;

    /// <summary>Drops every version after <paramref name="version"/> from the log and from every versioned field.</summary>
    public void TruncateAfter(long version)
    {
        Log?.TruncateAfter(version);
        foreach (var field in VersionedFields) field.DropAfter(version);
    }

    public void Dispose() => Log?.Dispose();

    private void Claim(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("a versioned field needs a name", nameof(name));
        if (!_names.Add(name)) throw new ArgumentException($"{typeName} already has a versioned field named '{name}'", nameof(name));
    }

    private static string Sanitize(string name) => string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_'));
}
