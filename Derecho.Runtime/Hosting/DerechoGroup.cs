using System.Collections.Concurrent;
using System.Net;
using Derecho.Client;
using Derecho.Diagnostics;
using Derecho.Errors;
using Derecho.Internal;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Multicast;
using Derecho.Persistence;
using Derecho.Replication;
using Derecho.Rpc;
using Derecho.Sst;
using Derecho.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Derecho.Hosting;

/// <summary>
/// A running member: transport, the current view (its SST and multicast), the view-change protocol and
/// the replicas it hosts, all driven by one protocol thread. The group starts from the configured members
/// as view 0; failed members are removed by view changes (ragged trim, majority agreement).
/// This class is the facade and the wiring; each concern lives in the part named after it.
/// </summary>
public sealed class DerechoGroup : IAsyncDisposable
{
    private readonly ValidatedOptions _options;
    private readonly ILogger _logger;
    private readonly IReadOnlyList<SubgroupSpec> _specs;
    private readonly TcpTransport _transport;
    private readonly PredicateLoop _loop;
    private readonly HeartbeatThread _heartbeat;
    private readonly MemberLifetime _lifetime;
    private readonly MemberEndpoints _endpoints;
    private readonly ViewSlot _views;
    private readonly ViewLog _viewLog;
    private readonly ReplicaStore _replicas;
    private readonly RpcEngine _engine;
    private readonly ReplicaDispatcher _dispatcher;
    private readonly TriggerWorker _triggers;
    private readonly StateTransfer _states;
    private readonly Durability _durability;
    private readonly MemberStatusReader _status;
    private readonly JoinCoordinator _joins;
    private readonly LeaveBarrier _leave = new();
    private readonly ViewInstaller _installer;
    private readonly MessageRouter _router;
    private readonly PeerWarnings _warnings;
    private readonly NotificationServer _notifications;
    private readonly ConcurrentQueue<(int, string)> _failureReports = new();
    private int _disposed;

    private DerechoGroup(ValidatedOptions options, LayoutBuilder layout, ILoggerFactory loggers)
    {
        var o = options.Options;
        _options = options;
        _logger = loggers.CreateLogger($"Derecho.Member{o.MyId}");
        var storage = Path.GetFullPath(Path.Combine(o.DataDirectory, $"member-{o.MyId}"));
        _specs = layout.Specs;
        _viewLog = new ViewLog(Path.Combine(storage, "_views"), _logger, new MetricTags(MyId, "_views", 0));
        // Before the port is taken: a layout the store refuses (a reserved or duplicate type id) leaves nothing open.
        _replicas = new ReplicaStore(MyId, layout.Registrations, relative => Path.Combine(storage, relative), o.RetainVersions, () => _loop?.Wake(),
            new NotificationFeeds(o.NotificationRetention, o.NotificationRetentionBytes)); // the loop is made below; logs flush only once it runs
        if (o.Transport == "rdma") ReportRdma();
        if (options.Tls is null && Security.ListenPolicy.Insecure(options.Endpoints[MyId]) is { } exposed)
            _logger.LogWarning("Member {Id} is {Exposed} without TLS (Derecho:AllowInsecure): anyone who can reach it can join, call and read state", MyId, exposed);
        _transport = TcpTransport.Bind(new TcpTransportOptions
        {
            LocalId = MyId,
            // A joiner waits for nobody at start: the group tells it whom to talk to.
            Endpoints = o.Join ? new Dictionary<int, IPEndPoint> { [MyId] = options.Endpoints[MyId] } : options.Endpoints,
            GroupFingerprint = options.Fingerprint,
            Tls = options.Tls,
            ConnectTimeout = o.ConnectTimeout,
            // Room for a large log record in a log tail (a persistent field's full value); state travels in parts.
            MaxMessageBytes = Math.Max(o.MaxPayloadBytes + 4096, 256 << 20),
            MaxClientMessageBytes = o.MaxPayloadBytes + 4096,
        }, _logger);
        _loop = new PredicateLoop(_transport, _logger, o.HeartbeatInterval);
        _lifetime = new MemberLifetime(MyId, _logger);
        _endpoints = new MemberEndpoints(MyId, options.Endpoints[MyId], _transport, options.Endpoints);
        // One per member, shared by every part that reads what peers send: a peer's first bad message is logged, the rest counted.
        _warnings = new PeerWarnings($"Member {MyId}", _logger);
        var calls = new PendingCalls(MyId, _replicas.NameOf, _warnings, _logger);
        var dispatcher = _dispatcher = new ReplicaDispatcher(MyId, _replicas, calls, _transport, o.ReplyWhenPersisted, _loop.Wake, _warnings, _logger);
        _views = new ViewSlot(MyId, _transport, _specs, new MulticastOptions { RingBytes = o.RingBytes, MaxPayloadBytes = o.MaxPayloadBytes },
            key => new ShardDelivery(dispatcher, _replicas.ReplicaFor(key.TypeId, key.Shard, key.Members), key.Members, key.ViewId), _loop.Wake);
        _triggers = new TriggerWorker(MyId, _replicas, o.MaxTriggerQueueBytes, _transport, _logger);
        _engine = new RpcEngine(MyId, o.MaxPayloadBytes, _views, _replicas.NameOf, calls, dispatcher, _transport, _loop.Wake, _warnings, _logger,
            _triggers, new TriggerWindow(Math.Min(64 << 10, o.MaxPayloadBytes), 1 << 20, 4 << 20, o.TriggerTimeout));
        _replicas.Invoker = _engine;
        dispatcher.SendTimeBarrier = (typeId, shard) => _engine.SendTimeBarrier(typeId, shard);
        _states = new StateTransfer(MyId, _replicas, _views, _transport, _lifetime, _loop.Wake, _warnings, _logger);
        _durability = new Durability(_replicas, _views);
        _status = new MemberStatusReader(MyId, _views, _replicas, _durability, _specs, _lifetime);
        _joins = new JoinCoordinator(MyId, _endpoints, _views, _transport, _replicas.JoinRefusal, _replicas.NameOf, _loop.Wake, _warnings, _logger);
        _notifications = new NotificationServer(MyId, _replicas, _transport, o.MaxNotificationLag, _logger);
        var clients = new ClientGateway(MyId, _views, _endpoints, _transport, _engine, _triggers, calls, o.MaxPayloadBytes,
            new Security.ClientAccess(o.AuthorizedClients), _replicas.NameOf, _warnings, _logger, _notifications);
        clients.Status = new StatusResponder(MyId, () => MemberStatusWire.ToAnswer(Status()));
        _installer = new ViewInstaller(MyId, o, _views, _endpoints, _transport, _loop, _replicas, calls, _engine, dispatcher, _states, _durability,
            _joins, clients, _leave, _viewLog, _lifetime, _failureReports, _logger);
        _router = new MessageRouter(_views, _endpoints, _transport, _loop, _replicas, calls, _engine, _states, _joins, clients, _leave,
            () => IsClosed, _failureReports, _warnings, _logger);
        _heartbeat = new HeartbeatThread(() => _views.Current?.Sst, _transport, o.HeartbeatInterval, () => !_lifetime.HasFailed, _logger);
        _loop.Faulted += e => _lifetime.Fail($"protocol failure: {e.Message}");
        _replicas.LogBroken = reason => _lifetime.Fail(reason);
        _lifetime.Stopping += (reason, error) =>
        {
            _views.Current?.Stop(reason);
            _engine.Stop(reason, error);
            _triggers.Stop();
        };
        _transport.Start(_router);
    }

    /// <summary>"rdma" was asked for: say what the probe found, then use TCP (no verbs data path yet).</summary>
    private void ReportRdma()
    {
        var probe = Transport.Verbs.VerbsDevices.Probe();
        if (probe.HasDevices)
            _logger.LogWarning("Member {Id}: RDMA devices {Devices} found, but this version has no verbs data path; using TCP", MyId, string.Join(", ", probe.Devices));
        else
            _logger.LogWarning("Member {Id}: RDMA requested but unavailable ({Reason}); falling back to TCP", MyId, probe.Unavailable);
    }

    /// <summary>The member side of trigger calls (for tests and diagnostics).</summary>
    internal TriggerWorker Triggers => _triggers;

    /// <summary>Notification subscriptions this member serves now (tests).</summary>
    internal int NotificationSubscriptions => _notifications.Count;

    /// <summary>This member's id.</summary>
    public int MyId => _options.Options.MyId;

    /// <summary>Whether this member has closed (shut down, left, or disposed).</summary>
    public bool IsClosed => Volatile.Read(ref _disposed) == 1;

    /// <summary>The installed view.</summary>
    public View View => _views.Installed.View;

    /// <summary>Raised (on the thread pool) after a new view is installed: the view, who joined, who departed.</summary>
    public event Action<View, IReadOnlyList<int>, IReadOnlyList<int>>? ViewChanged
    {
        add => _installer.ViewChanged += value;
        remove => _installer.ViewChanged -= value;
    }

    /// <summary>Whether a view change is under way: the current view is wedged and the next not yet installed.</summary>
    public bool IsChangingView => _views.Installed.IsWedged && !_lifetime.HasFailed;

    /// <summary>Completes, with why, if this member stopped: excluded by the others, or cut off from a majority.</summary>
    public Task<MemberStoppedException> Failed => _lifetime.Failed;

    /// <summary>The installed view's layout: which members hold which shard of which replicated type.</summary>
    public GroupLayout Layout => _views.Installed.Layout;

    /// <summary>Application messages this member has delivered in the current view (over all its shards).</summary>
    public long DeliveredMessages => _views.Installed.Multicasts.Sum(m => m.DeliveredMessages);

    /// <summary>Delivery batches in the current view (DeliveredMessages / DeliveryBatches is the mean receiver-side batch).</summary>
    public long DeliveryBatches => _views.Installed.Multicasts.Sum(m => m.DeliveryBatches);

    /// <summary>
    /// Starts this member: validates <paramref name="options"/>, creates the replicas declared by
    /// <paramref name="layout"/>, connects to every member and starts the protocol thread.
    /// </summary>
    public static async Task<DerechoGroup> JoinAsync(DerechoOptions options, Action<LayoutBuilder> layout, ILoggerFactory? loggers = null, CancellationToken cancellationToken = default)
    {
        var validated = ValidatedOptions.From(options);
        var builder = new LayoutBuilder();
        layout(builder);
        var group = new DerechoGroup(validated, builder, loggers ?? NullLoggerFactory.Instance);
        try
        {
            if (options.Join) await group.JoinRunningGroupAsync(group._options.Endpoints.Where(e => e.Key != group.MyId).ToList(), cancellationToken).ConfigureAwait(false);
            else await group.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await group.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        group._loop.Start();
        group._heartbeat.Start();
        await group.WaitForShardStatesAsync(cancellationToken).ConfigureAwait(false);
        group._logger.LogInformation("Member {Id} is in view {View} with members {Members}", group.MyId, group.View.Id, string.Join(", ", group.View.Members));
        return group;
    }

    /// <summary>
    /// Starts without being told to join: the members agree on the view to start in (view 0 of the configured
    /// members the first time, afterwards the newest logged view's next id; see <see cref="RestartHandshake"/>),
    /// or this member learns that it must join a running group instead.
    /// </summary>
    private async Task StartAsync(CancellationToken cancellationToken)
    {
        var restart = new RestartHandshake(MyId, _options, _transport, _replicas, _specs, _viewLog.Newest, _warnings, _logger);
        _router.Restart = restart;
        try
        {
            var outcome = await restart.RunAsync(cancellationToken).ConfigureAwait(false);
            if (outcome.Rejoin is { } rejoin)
            {
                _logger.LogInformation("Member {Id} joins the running group: {Reason}", MyId, rejoin.Reason);
                var contacts = rejoin.Ids.Zip(rejoin.Endpoints).Where(m => m.First != MyId).Select(m => KeyValuePair.Create(m.First, PackedEndpoint.Unpack(m.Second))).ToList();
                await JoinRunningGroupAsync(contacts, cancellationToken).ConfigureAwait(false);
                return;
            }
            var decided = outcome.View!;
            foreach (var (id, packed) in decided.Ids.Zip(decided.Endpoints)) _endpoints.Learn(id, packed);
            var first = new View(decided.ViewId, decided.Ids);
            _views.LastAdequate = decided.LastAdequate.Length == 0 ? null : GroupLayout.TryDeserialize(decided.LastAdequate, _replicas.NameOf);
            var view = _views.Create(first, proposalId: 0, _views.LastAdequate); // creates the replicas of the shards this member is in
            // The shards' holders (this member among them has caught up to the longest log) hold the state; the
            // shards' other members get it from them.
            _states.SetRestartHolders(decided.TypeIds.Select((typeId, i) => (typeId, decided.Shards[i], decided.Holders[i])));
            _installer.InstallFirst(view, restart: decided.ViewId > 0);
            await restart.AwaitReadyAsync(first.Id, decided.Ids, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _router.Restart = null;
        }
    }

    /// <summary>Asks the contacts to be let in; installs the view the leader commits.</summary>
    private Task JoinRunningGroupAsync(IReadOnlyList<KeyValuePair<int, IPEndPoint>> contacts, CancellationToken cancellationToken) =>
        _joins.JoinAsync(contacts, _options.Options.ConnectTimeout, view => _installer.InstallFirst(view), cancellationToken);

    /// <summary>A joiner's replicas are ready once every shard it entered has loaded its state: only then does JoinAsync return.</summary>
    private async Task WaitForShardStatesAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + _options.Options.ConnectTimeout;
        while (StateTransfer.IsAwaiting(_views.Installed))
        {
            if (_lifetime.HasFailed) throw new JoinRefusedException(MyId, _lifetime.Failed.Result.Reason);
            if (DateTime.UtcNow > deadline)
            {
                await DisposeAsync().ConfigureAwait(false);
                throw new TransportException($"member {MyId} joined view {View.Id} but did not receive its shards' state within {_options.Options.ConnectTimeout.TotalSeconds:0.#}s");
            }
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The typed handle of a hosted replicated type; its generated extension methods make the calls.</summary>
    public SubgroupHandle<T> Subgroup<T>() where T : class, IReplicatedType =>
        _replicas.HasReplicatedType(T.ReplicatedTypeId) ? new SubgroupHandle<T>(_engine)
            : throw new InvalidOperationException($"{typeof(T).FullName} is not in this group's layout");

    /// <summary>
    /// Leaves the group gracefully while the others go on: a view change that removes this member at once,
    /// without waiting for a failure timeout. Calls still in flight should be awaited first; calls made
    /// after this starts fail. The others must remain a majority of the current view.
    /// </summary>
    public async Task LeaveAsync()
    {
        _lifetime.BeginLeavingAlone();
        _failureReports.Enqueue((MyId, "leaving the group"));
        _loop.Wake();
        var timeout = Task.Delay(_options.Options.LeaveTimeout);
        if (await Task.WhenAny(_lifetime.LeftAlone, _lifetime.Failed, timeout).ConfigureAwait(false) == timeout)
            _logger.LogWarning("Member {Id}: the others did not install a view without it within {Timeout}; closing anyway", MyId, _options.Options.LeaveTimeout);
        await _notifications.EndAll($"member {MyId} left the group").ConfigureAwait(false);
        await DisposeAsync().ConfigureAwait(false);
        if (_lifetime.HasFailed && !_lifetime.LeftAlone.IsCompleted)
            throw new MemberStoppedException(MyId, $"could not leave cleanly: {_lifetime.Failed.Result.Reason}");
    }

    /// <summary>
    /// Shuts the whole group down gracefully: stops sending, waits until every member has delivered every
    /// message sent by anyone (all rows flagged leaving, all counters equal), then closes. Every member calls it.
    /// </summary>
    public async Task ShutdownAsync()
    {
        _views.Installed.Stop("this member is leaving the group");
        _leave.Request();
        _loop.Wake();
        var timeout = Task.Delay(_options.Options.LeaveTimeout);
        var finished = await Task.WhenAny(_leave.Complete, _lifetime.Failed, timeout).ConfigureAwait(false);
        if (finished == timeout)
            _logger.LogWarning("Member {Id}: leave did not complete within {Timeout}; closing anyway", MyId, _options.Options.LeaveTimeout);
        await _notifications.EndAll($"member {MyId} is shutting down with the group").ConfigureAwait(false);
        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Where this member stands now (health checks read it); a closed member is stopped.</summary>
    internal MemberStatus Status() =>
        IsClosed ? new MemberStatus(MyId, MemberState.Stopped, -1, [], [], "the member was closed") : _status.Read();

    /// <summary>Closes without the leave barrier (to the others this looks like a crash).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _status.Dispose();
        _joins.StopAnswering();
        _states.Stop();
        var view = _views.Current;
        view?.Stop("group disposed");
        _heartbeat.Dispose();
        _loop.Dispose();
        _notifications.Dispose(); // before the transport: it may be sending
        await _transport.DisposeAsync().ConfigureAwait(false);
        _engine.Stop("group disposed", new ObjectDisposedException(nameof(DerechoGroup), $"member {MyId} has left the group"));
        _triggers.Stop();
        _engine.Dispose();
        if (_loop.HasStopped) _dispatcher.Dispose(); // else a handler may still write into its pooled reply buffer
        _views.Dispose(); // the protocol thread and the transport's threads have stopped
        _joins.Close(view);
        _replicas.CloseLogs();
        _viewLog.Dispose();
    }

    // ---- durability of versioned state ----

    /// <summary>Raised (on the thread pool) when this member has every version up to the given one on disk.</summary>
    public event Action<long>? Persisted
    {
        add => _durability.Persisted += value;
        remove => _durability.Persisted -= value;
    }

    /// <summary>Raised (on the thread pool) when every member of this member's shard(s) has every version up to the given one on disk.</summary>
    public event Action<long>? GloballyPersisted
    {
        add => _durability.GloballyPersisted += value;
        remove => _durability.GloballyPersisted -= value;
    }

    /// <summary>
    /// Highest version every member of this member's shard has on disk (-1 before any). A member of several
    /// shards reports the least over them (versions of different shards are not comparable; see
    /// <see cref="GloballyPersistedVersionOf{T}"/>).
    /// </summary>
    public long GloballyPersistedVersion => _durability.GloballyPersistedVersion;

    /// <summary>Highest version every member of shard <paramref name="shard"/> of <typeparamref name="T"/> has on disk (-1: none, or not a member).</summary>
    public long GloballyPersistedVersionOf<T>(int shard = 0) where T : class, IReplicatedType => _durability.GloballyPersistedVersionOf(T.ReplicatedTypeId, shard);

    /// <summary>
    /// Stable time frontier of this replica (the least over its shards): no version it creates from now on can
    /// be stamped at or before it. Reads at a time before the frontier return the same value on every replica of the shard.
    /// </summary>
    public DateTime StableTime => _durability.StableTime();

    /// <summary>
    /// Waits until <see cref="StableTime"/> has passed <paramref name="time"/>, so reads at that time are final
    /// here and identical on every replica, with no lock anywhere. When a shard is idle an ordered time
    /// barrier moves its frontier. With <paramref name="failFast"/> it throws instead of waiting.
    /// </summary>
    public async Task WaitForStableTimeAsync(DateTime time, bool failFast = false, CancellationToken cancellationToken = default)
    {
        var ticks = time.ToUniversalTime().Ticks;
        if (StableTime.Ticks > ticks) return;
        if (failFast) throw new TimeNotStableException(MyId, $"time {time:O} is not stable yet (frontier {StableTime:O})");
        var wait = time.ToUniversalTime() - DateTime.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait + TimeSpan.FromMilliseconds(1), cancellationToken).ConfigureAwait(false);
        while (StableTime.Ticks <= ticks)
        {
            var barriers = _views.Installed.MyShards.Select(s => _engine.SendTimeBarrier(s.TypeId, s.Shard)).ToList();
            if (barriers.Count == 0) throw new ShardUnavailableException($"member {MyId} holds no shard in view {View.Id}");
            await Task.WhenAll(barriers).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // ---- fault injection for tests ----

    /// <summary>This member withholds the shard states it owes (as if it crashed before sending).</summary>
    internal bool WithholdShardStatesForTest
    {
        get => _states.WithholdForTest;
        set => _states.WithholdForTest = value;
    }

    /// <summary>This member stops sending a shard state after this many parts of it (0: never).</summary>
    internal int StallShardStatesAfterPartsForTest
    {
        get => _states.StallAfterPartsForTest;
        set => _states.StallAfterPartsForTest = value;
    }

    /// <summary>Sends a hand-made message to a peer, as a member that lies would.</summary>
    internal void SendForTest(int peer, byte[] message)
    {
        _transport.Send(peer, message);
        _transport.Flush();
    }
}
