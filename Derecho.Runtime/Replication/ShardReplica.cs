using Derecho.Rpc;

namespace Derecho.Replication;

/// <summary>One shard's replica at this member; it outlives views (a member keeps its shard across view changes).</summary>
internal sealed class ShardReplica(uint typeId, int shard, string name, IReplicatedObject replica, ReplicaContext context, bool canTransferState,
    NotificationFeeds? feeds = null) : INotificationSink
{
    /// <summary><see cref="NotificationsFrom"/> of a replica without the shard's state: its history begins at its next delivery.</summary>
    public const long NoHistory = -2;

    /// <summary><see cref="NotificationsFrom"/> of a replica that has seen the shard from its beginning.</summary>
    public const long FromTheStart = long.MinValue;

    private long _agreedTicks = context.Log?.LastTicks ?? 0; // a recovered log: stamp on from its newest version, as every replica of it does
    private bool _hasState;
    private long _notificationsFrom = NoHistory;
    private NotificationFeed? _feed;

    public uint TypeId { get; } = typeId;

    public int Shard { get; } = shard;

    public string Name { get; } = name;

    private volatile IReplicatedObject _replica = replica;
    private volatile ReplicaContext _context = context;

    public IReplicatedObject Replica => _replica;

    public ReplicaContext Context => _context;

    /// <summary>The replica was constructed again over its log (<see cref="ReplicaStore.Reconstruct"/>).</summary>
    public void Replace(IReplicatedObject instance, ReplicaContext newContext)
    {
        _context = newContext;
        _replica = instance;
        AgreeAtLeast(newContext.Log?.LastTicks ?? 0);
    }

    /// <summary>Whether its state can be sent to a member new to the shard (see <see cref="IReplicatedType.CanTransferState"/>).</summary>
    public bool CanTransferState { get; } = canTransferState;

    /// <summary>Agreed time of the shard's last delivered call: its stable time frontier.</summary>
    public long AgreedTicks => Interlocked.Read(ref _agreedTicks);

    /// <summary>
    /// Whether this replica holds the shard's state: it started the shard, was in it since, or loaded the state
    /// sent to it. A replica without it delivers nothing and never sends its state.
    /// </summary>
    public bool HasState
    {
        get => Volatile.Read(ref _hasState);
        set
        {
            // Losing the state, or getting it from others, starts a new history of notifications here: none from before.
            if (value != Volatile.Read(ref _hasState)) Volatile.Write(ref _notificationsFrom, NoHistory);
            Volatile.Write(ref _hasState, value);
        }
    }

    /// <summary>
    /// Where this replica's history of notifications begins: it recorded every notification of every call from this
    /// version on (<see cref="FromTheStart"/>: it has held the shard since the shard began; <see cref="NoHistory"/>: from
    /// its next delivery). A member new to the shard, or one that restarted, has none from before it got the state.
    /// </summary>
    public long NotificationsFrom => Volatile.Read(ref _notificationsFrom);

    /// <summary>The shard is new (no member held it before): this replica's history is the shard's whole history.</summary>
    public void StartsTheShard()
    {
        HasState = true;
        Volatile.Write(ref _notificationsFrom, FromTheStart);
    }

    /// <summary>A call is being delivered (protocol thread): a history not begun yet begins with it.</summary>
    public void Delivering(long version)
    {
        if (_notificationsFrom == NoHistory) Volatile.Write(ref _notificationsFrom, version);
    }

    void INotificationSink.Record(in DeliveryInfo delivery, int index, string topic, ReadOnlySpan<byte> payload)
    {
        if (feeds is null) return;
        (_feed ??= feeds.For(this)).Stage(delivery.Version, index, delivery.Timestamp.Ticks, topic, payload, _notificationsFrom);
    }

    void INotificationSink.Complete(bool applied) => _feed?.Complete(applied);

    /// <summary>Version of the last ordered call delivered here (-1: none since this process started), for health and metrics.</summary>
    public long DeliveredVersion
    {
        get => Volatile.Read(ref _deliveredVersion);
        set => Volatile.Write(ref _deliveredVersion, value);
    }

    private long _deliveredVersion = -1;

    /// <summary>Replies of calls whose versions are not yet on disk, in version order (protocol thread only).</summary>
    public Queue<DeferredReply> DeferredReplies { get; } = new();

    /// <summary>Every version up to this one is on disk here (-1: none yet), as the SST publishes it.</summary>
    public long PersistedVersion => Context.Log is { } log ? log.PersistedVersion : long.MaxValue;

    /// <summary>
    /// The durability rule, in one place: <paramref name="version"/> needs no more waiting for the disk here. It is
    /// on disk, or everything the log holds is (a version beyond it was cut off when the log took another
    /// member's history, and waiting for it would never end), or the replica has no persistent fields.
    /// </summary>
    public bool IsDurable(long version) => Context.Log is not { } log || version <= log.PersistedVersion || log.PersistedVersion >= log.LastVersion;

    /// <summary>Whether every version the replica's persistent fields logged is on disk.</summary>
    public bool AllLoggedDurable => Context.Log is not { } log || IsDurable(log.LastVersion);

    /// <summary>
    /// Starts the agreed time where the shard's history left it (a snapshot's, or the newest logged version's after a
    /// restart): every replica then stamps the next call alike, whatever its own history in this process.
    /// </summary>
    public void AgreeAtLeast(long ticks) => Interlocked.Exchange(ref _agreedTicks, Math.Max(Interlocked.Read(ref _agreedTicks), ticks));

    /// <summary>Advances the agreed time along the shard's total order (protocol thread only).</summary>
    public void Agree(long senderTicks) =>
        Interlocked.Exchange(ref _agreedTicks, Math.Max(_agreedTicks + 1, Math.Clamp(senderTicks, DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks)));
}

/// <summary>A reply held until the version its call created is on disk.</summary>
internal readonly record struct DeferredReply(long Version, int Caller, byte[] Buffer, int Length);
