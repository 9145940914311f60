using System.Collections.Concurrent;
using System.Net;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Multicast;
using Derecho.Rpc;
using Derecho.Sst;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Derecho.Hosting;

/// <summary>
/// A running member: transport, the current view (its SST and multicast), the view-change protocol and
/// the replicas it hosts, all driven by one protocol thread. The group starts from the configured members
/// as view 0; failed members are removed by view changes (ragged trim, majority agreement).
/// </summary>
public sealed partial class DerechoGroup : IAsyncDisposable, ITransportHandler, IViewChangeHost
{
    // The member and its protocol thread.
    private readonly ValidatedOptions _options;
    private readonly ILogger _logger;
    private readonly RpcEngine _engine;
    private readonly IReadOnlyList<SubgroupSpec> _specs;
    private readonly Func<ActiveShardKey, IDeliveryHandler> _handlers;
    private readonly MulticastOptions _multicastOptions;
    private readonly PredicateLoop _loop;
    private readonly OrderedCallQueue _ordered;
    private readonly TcpTransport _transport;
    private readonly HeartbeatThread _heartbeat;
    private readonly ShardStateSender _stateSender;
    private readonly TaskCompletionSource<string> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    // Views: the current one, the one replaced last (its ring memory may still be queued for sending).
    private readonly ConcurrentQueue<(int, string)> _failureReports = new();
    private ActiveView _current = null!; // set by StartAsync (first view or restart) or by a committed join
    private ActiveView? _retired;
    private ActiveView? _prepared; // the next view while a change is under way: freed at shutdown if never installed
    // The layout of the last adequate view: new layouts keep its assignments, and its shard members hold the state.
    private GroupLayout? _lastAdequate;

    // Joins: requests forwarded by this member, joiners' acknowledgements (leader), our own join (joiner).
    private readonly ConcurrentDictionary<int, IPEndPoint> _endpoints = new();
    private readonly ConcurrentDictionary<int, long> _pendingJoins = new();
    private readonly ConcurrentDictionary<int, long> _joinAcks = new();
    private readonly object _joinGate = new();
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ActiveView? _joinPrepared;

    // Leaving: alone (a view change) or all together (the shutdown barrier).
    private readonly TaskCompletionSource _leftAlone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _leaveComplete = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _leavingAlone;
    private volatile bool _leaveRequested;

    // Persistence: every installed view on disk (restarts start from the newest), persisted-version reporting.
    private readonly ViewLog _viewLog;
    private RestartHandshake? _restart; // while starting without being told to join
    private readonly Dictionary<(uint TypeId, int Shard), int[]> _restartHolders = new(); // the restart view's holders of each shard
    private long _lastPersisted = -1;
    private long _lastGloballyPersisted = -1;

    private DerechoGroup(ValidatedOptions options, LayoutBuilder layout, ILoggerFactory loggers)
    {
        _options = options;
        _logger = loggers.CreateLogger($"Derecho.Member{options.Options.MyId}");
        var storage = Path.GetFullPath(Path.Combine(options.Options.DataDirectory, $"member-{options.Options.MyId}"));
        _specs = layout.Specs;
        _viewLog = new ViewLog(Path.Combine(storage, "_views"), _logger);
        _engine = new RpcEngine(MyId, options.MemberIds, new GroupLayout([], "not in a view yet"), layout.Registrations,
            relative => Path.Combine(storage, relative), options.Options.RetainVersions, options.Options.ReplyWhenPersisted, _logger);
        _handlers = _engine.HandlerFor;
        _multicastOptions = new MulticastOptions { RingBytes = options.Options.RingBytes, MaxPayloadBytes = options.Options.MaxPayloadBytes };

        foreach (var (id, endpoint) in options.Endpoints) _endpoints[id] = endpoint;
        if (options.Options.Transport == "rdma") ReportRdma();
        _transport = TcpTransport.Listen(new TcpTransportOptions
        {
            LocalId = MyId,
            // A joiner waits for nobody at start: the group tells it whom to talk to.
            Endpoints = options.Options.Join ? new Dictionary<int, IPEndPoint> { [MyId] = options.Endpoints[MyId] } : options.Endpoints,
            GroupFingerprint = options.Fingerprint,
            ConnectTimeout = options.Options.ConnectTimeout,
            // Room for a large log record in a log tail (a persistent field's full value); state travels in parts.
            MaxMessageBytes = Math.Max(options.Options.MaxPayloadBytes + 4096, 256 << 20),
        }, this, _logger);
        _stateSender = new ShardStateSender(MyId, _transport, _logger);
        _loop = new PredicateLoop(_transport, _logger, options.Options.HeartbeatInterval);
        _ordered = new OrderedCallQueue(MyId, options.Options.MaxPayloadBytes, () => Volatile.Read(ref _current), _engine, _loop.Wake);
        _engine.Attach(_ordered.Send, RelayOrdered, _transport, _loop);
        _heartbeat = new HeartbeatThread(() => Volatile.Read(ref _current)?.Sst, _transport, options.Options.HeartbeatInterval,
            () => !_failed.Task.IsCompleted, _logger);
        _loop.Faulted += e => Fail($"protocol failure: {e.Message}");
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

    /// <summary>This member's id.</summary>
    public int MyId => _options.Options.MyId;

    /// <summary>Whether this member has closed (shut down, left, or disposed).</summary>
    public bool IsClosed => Volatile.Read(ref _disposed) == 1;

    /// <summary>The installed view.</summary>
    public View View => Volatile.Read(ref _current).View;

    /// <summary>Raised (on the thread pool) after a new view is installed: the view, who joined, who departed.</summary>
    public event Action<View, IReadOnlyList<int>, IReadOnlyList<int>>? ViewChanged;

    /// <summary>Whether a view change is under way: the current view is wedged and the next not yet installed.</summary>
    public bool IsChangingView => Volatile.Read(ref _current).IsWedged && !_failed.Task.IsCompleted;

    /// <summary>Completes with the reason if this member stopped: excluded by the others, or cut off from a majority.</summary>
    public Task<string> Failed => _failed.Task;

    /// <summary>The installed view's layout: which members hold which shard of which replicated type.</summary>
    public GroupLayout Layout => Volatile.Read(ref _current).Layout;

    /// <summary>Application messages this member has delivered in the current view (over all its shards).</summary>
    public long DeliveredMessages => Volatile.Read(ref _current).Multicasts.Sum(m => m.DeliveredMessages);

    /// <summary>Delivery batches in the current view (DeliveredMessages / DeliveryBatches is the mean receiver-side batch).</summary>
    public long DeliveryBatches => Volatile.Read(ref _current).Multicasts.Sum(m => m.DeliveryBatches);

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
        var restart = new RestartHandshake(MyId, _options, _transport, _engine, _specs, _viewLog.Newest, _logger);
        Volatile.Write(ref _restart, restart);
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
            foreach (var (id, packed) in decided.Ids.Zip(decided.Endpoints))
            {
                if (id == MyId) continue;
                _endpoints[id] = PackedEndpoint.Unpack(packed);
                _transport.AddPeer(id, _endpoints[id]);
            }
            var first = new View(decided.ViewId, decided.Ids);
            _lastAdequate = decided.LastAdequate.Length == 0 ? null : GroupLayout.TryDeserialize(decided.LastAdequate, _engine.NameOf);
            var view = new ActiveView(first, LayoutFunction.Compute(first, _specs, _lastAdequate), MyId, _transport, _multicastOptions, _handlers, proposalId: 0, _loop.Wake);
            // The shards' holders (this member among them has caught up to the longest log) hold the state; the
            // shards' other members get it from them.
            _restartHolders.Clear();
            for (var i = 0; i < decided.Sources.Length; i++)
            {
                _restartHolders[(decided.TypeIds[i], decided.Shards[i])] = decided.Holders[i];
                if (Array.IndexOf(decided.Holders[i], MyId) >= 0 && _engine.TryGetReplica(decided.TypeIds[i], decided.Shards[i]) is { } held) held.HasState = true;
            }
            InstallFirst(view, restart: decided.ViewId > 0);
            await restart.AwaitReadyAsync(first.Id, decided.Ids, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _restart, null);
        }
    }

    /// <summary>Makes the first view of this process current (a start, a restart or a join).</summary>
    private void InstallFirst(ActiveView view, bool restart = false)
    {
        _engine.OnViewInstalled(view.View.Members.ToArray(), view.Layout, [], []);
        var before = _lastAdequate;
        if (view.Layout.IsAdequate) _lastAdequate = view.Layout;
        else ReportInadequate(view);
        LogView(view.View);
        Volatile.Write(ref _current, view);
        BeginShardStates(view, before, old: null, restart);
        _loop.Replace(view.Sst, StepsFor(view));
    }

    /// <summary>The typed handle of a hosted replicated type; its generated extension methods make the calls.</summary>
    public SubgroupHandle<T> Subgroup<T>() where T : class, IReplicatedType =>
        _engine.HasReplicatedType(T.ReplicatedTypeId) ? new SubgroupHandle<T>(_engine)
            : throw new InvalidOperationException($"{typeof(T).FullName} is not in this group's layout");

    /// <summary>
    /// Leaves the group gracefully while the others go on: a view change that removes this member at once,
    /// without waiting for a failure timeout. Calls still in flight should be awaited first; calls made
    /// after this starts fail. The others must remain a majority of the current view.
    /// </summary>
    public async Task LeaveAsync()
    {
        _leavingAlone = true;
        _failureReports.Enqueue((MyId, "leaving the group"));
        _loop.Wake();
        var timeout = Task.Delay(_options.Options.LeaveTimeout);
        if (await Task.WhenAny(_leftAlone.Task, _failed.Task, timeout).ConfigureAwait(false) == timeout)
            _logger.LogWarning("Member {Id}: the others did not install a view without it within {Timeout}; closing anyway", MyId, _options.Options.LeaveTimeout);
        await DisposeAsync().ConfigureAwait(false);
        if (_failed.Task.IsCompleted && !_leftAlone.Task.IsCompleted)
            throw new InvalidOperationException($"member {MyId} could not leave cleanly: {_failed.Task.Result}");
    }

    /// <summary>
    /// Shuts the whole group down gracefully: stops sending, waits until every member has delivered every
    /// message sent by anyone (all rows flagged leaving, all counters equal), then closes. Every member calls it.
    /// </summary>
    public async Task ShutdownAsync()
    {
        Volatile.Read(ref _current).Stop("this member is leaving the group");
        _leaveRequested = true;
        _loop.Wake();
        var timeout = Task.Delay(_options.Options.LeaveTimeout);
        var finished = await Task.WhenAny(_leaveComplete.Task, _failed.Task, timeout).ConfigureAwait(false);
        if (finished == timeout)
            _logger.LogWarning("Member {Id}: leave did not complete within {Timeout}; closing anyway", MyId, _options.Options.LeaveTimeout);
        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Closes without the leave barrier (to the others this looks like a crash).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _stateSender.Stop();
        var view = Volatile.Read(ref _current);
        view?.Stop("group disposed");
        _heartbeat.Dispose();
        _loop.Dispose();
        await _transport.DisposeAsync().ConfigureAwait(false);
        _ordered.Stop("group disposed");
        _engine.Stop(new ObjectDisposedException(nameof(DerechoGroup), $"member {MyId} has left the group"));
        view?.Dispose();
        _retired?.Dispose();
        if (!ReferenceEquals(_prepared, view)) _prepared?.Dispose(); // the protocol thread has stopped: nobody prepares another
        lock (_joinGate) if (!ReferenceEquals(_joinPrepared, view)) _joinPrepared?.Dispose();
        foreach (var log in _engine.Logs) log.Dispose(); // flushes what is still in memory
        _viewLog.Dispose();
    }

    void ITransportHandler.OnWritesApplied(int peerId) => _loop.Wake();

    void ITransportHandler.OnMessage(int peerId, ReadOnlySpan<byte> message)
    {
        var family = message.IsEmpty ? MessageFamily.Unknown : MessageKinds.FamilyOf(message[0]);
        if (family == MessageFamily.Client) OnClientMessage(peerId, message);
        else if (family is MessageFamily.Membership or MessageFamily.StateTransfer or MessageFamily.Restart) OnMembershipMessage(peerId, message);
        else _engine.OnMessage(peerId, message);
    }

    void ITransportHandler.OnPeerDisconnected(int peerId, string reason)
    {
        Volatile.Read(ref _restart)?.OnPeerFailed(peerId, reason);
        _engine.OnPeerLost(peerId, reason);
        if (ForgetClient(peerId) || _leaveRequested || _disposed == 1 || Volatile.Read(ref _current) is null) return;
        _failureReports.Enqueue((peerId, $"connection lost: {reason}"));
        _loop.Wake();
    }

    ActiveView IViewChangeHost.Prepare(View next, long proposalId, IReadOnlyList<(int Id, long Endpoint)> joiners, ActiveView? previous, bool isLeader)
    {
        foreach (var (id, packed) in joiners)
        {
            _endpoints[id] = PackedEndpoint.Unpack(packed);
            _transport.AddPeer(id, _endpoints[id]);
        }
        var view = previous;
        if (view is null || !view.View.Members.SequenceEqual(next.Members))
        {
            previous?.Dispose();
            view = new ActiveView(next, LayoutFunction.Compute(next, _specs, _lastAdequate), MyId, _transport, _multicastOptions, _handlers, proposalId, _loop.Wake);
        }
        view.ProposalId = proposalId;
        _prepared = view;
        if (isLeader && joiners.Count > 0)
        {
            var proposal = JoinMessages.ViewProposal(next.Id, proposalId,
                next.Members.Select(id => (id, PackedEndpoint.Pack(_endpoints[id]))).ToList(), _lastAdequate?.Serialize() ?? []);
            foreach (var (id, _) in joiners) _transport.Send(id, proposal);
            _transport.Flush();
        }
        return view;
    }

    void IViewChangeHost.Install(ActiveView next, long[] trim, IReadOnlyList<(int Id, long Endpoint)> sendStateTo)
    {
        var old = _current;
        _prepared = null;
        var departed = old.View.Members.Except(next.View.Members).ToArray();
        var joined = next.View.Members.Except(old.View.Members).ToArray();
        if (sendStateTo.Count > 0)
        {
            var commit = JoinMessages.JoinCommit(next.ProposalId);
            foreach (var (id, _) in sendStateTo) _transport.Send(id, commit);
        }
        // The commit echo must reach the others before we stop pushing the old table.
        old.Sst.PushChanges(_transport);
        _transport.Flush();

        // Own messages the trim cut off go first into the same shard of the new view; if this member left that
        // shard, their calls fail (they were not applied anywhere).
        var resent = new HashSet<long>();
        var resends = 0;
        foreach (var shard in old.MyShards)
        {
            var undelivered = shard.Multicast.TakeUndelivered(trim[old.TrimOffset(shard.Global) + shard.Multicast.MyIndex]);
            var target = next.Find(shard.TypeId, shard.Shard);
            if (target is null)
            {
                _engine.FailCutOff(undelivered.Select(p => RpcEngine.RequestIdOf(p)),
                    $"the view change to view {next.View.Id} cut this call off and moved member {MyId} out of shard {shard.Shard} of {_engine.NameOf(shard.TypeId)}; it was not applied");
                continue;
            }
            foreach (var payload in undelivered)
            {
                if (!target.Multicast.TrySendNow(payload))
                    throw new InvalidOperationException("a re-sent message does not fit the new view's ring");
                resent.Add(RpcEngine.RequestIdOf(payload));
                resends++;
            }
        }
        _engine.OnViewInstalled(next.View.Members.ToArray(), next.Layout, departed, resent);
        var before = _lastAdequate;
        if (next.Layout.IsAdequate) _lastAdequate = next.Layout;
        else ReportInadequate(next);
        LogView(next.View); // on disk before anything is delivered in it
        Volatile.Write(ref _current, next);
        // The trim is delivered and nothing of the new view is: this is the state members new to a shard need.
        BeginShardStates(next, before, old);
        _loop.Replace(next.Sst, StepsFor(next));
        foreach (var member in departed) _transport.ForgetPeer(member);
        _transport.RetireEpochsBefore(checked((int)next.View.Id));
        // Ring bytes of the old view may still sit in send queues (they are sent in place), so its memory is
        // freed one view change later, or at shutdown after the transport's threads have stopped.
        _retired?.Dispose();
        _retired = old;

        foreach (var id in next.View.Members) _pendingJoins.TryRemove(id, out _);
        _joinAcks.Clear();
        PushViewToClients();

        _logger.LogInformation("Member {Id} installed view {View}: members {Members}; joined {Joined}; departed {Departed}; re-sent {Resent} trimmed message(s)",
            MyId, next.View.Id, string.Join(", ", next.View.Members), string.Join(", ", joined), string.Join(", ", departed), resends);
        var handlers = ViewChanged;
        if (handlers is not null) ThreadPool.QueueUserWorkItem(_ => handlers(next.View, joined, departed));
    }

    void IViewChangeHost.Fail(string reason) => Fail(reason);

    private IEnumerable<(string Name, PredicateLoop.Step Step)> StepsFor(ActiveView view)
    {
        var protocol = new ViewChangeProtocol(view, this, _logger, _options.Options.FailureTimeout, _options.Options.JoinTimeout, _failureReports);
        return view.Predicates().Prepend(("send-queued", _ordered.SendQueuedStep))
            .Prepend(("receive-state", ReceiveStateStep))
            .Append(_engine.P2PPredicate)
            .Append(_engine.DurableRepliesPredicate)
            .Append(("persisted", PersistedStep))
            .Append(("post-join-request", PostJoinRequestStep))
            .Concat(protocol.Predicates())
            .Append(("leave", LeaveStep));
    }

    /// <summary>Puts an installed view on disk with its members' endpoints and the layout that says who holds which shard.</summary>
    private void LogView(View view) =>
        _viewLog.AppendView(view, view.Members.Select(id => (id, PackedEndpoint.Pack(id == MyId ? _options.Endpoints[MyId] : _endpoints[id]))).ToList(), _lastAdequate);

    private void Fail(string reason)
    {
        if (_leavingAlone)
        {
            // The view change that removes us is what LeaveAsync asked for.
            _logger.LogInformation("Member {Id} left the group: {Reason}", MyId, reason);
            Volatile.Read(ref _current).Stop("this member left the group");
            _ordered.Stop("this member left the group");
            _engine.Stop(new InvalidOperationException($"member {MyId} left the group"));
            _leftAlone.TrySetResult();
            return;
        }
        if (!_failed.TrySetResult(reason)) return;
        _logger.LogError("Member {Id} stops: {Reason}", MyId, reason);
        Volatile.Read(ref _current).Stop(reason);
        _ordered.Stop(reason);
        _engine.Stop(new InvalidOperationException($"member {MyId} stopped: {reason}"));
    }

    /// <summary>When leaving: flag our row; when every row is flagged and all counters agree, the leave is complete.</summary>
    private bool LeaveStep()
    {
        if (!_leaveRequested || _leaveComplete.Task.IsCompleted) return false;
        var sst = _current.Sst;
        var columns = sst.Layout;
        if (sst.Get(sst.MyRank, columns.Status) != (long)MemberStatus.Leaving)
        {
            sst.Set(columns.Status, (long)MemberStatus.Leaving);
            return true;
        }
        for (var r = 0; r < sst.Rows; r++)
            if (sst.Get(r, columns.Status) != (long)MemberStatus.Leaving) return false;
        // Every shard of ours: all its members received the same number from each sender and delivered all of it
        // (other shards' counters are not pushed to us; their members check them).
        foreach (var active in _current.MyShards)
        {
            var shard = columns.Shard(active.Global);
            var ranks = active.Ranks;
            var sent = sst.Get(ranks[0], shard.Received(0));
            foreach (var r in ranks)
            {
                for (var j = 0; j < ranks.Length; j++)
                    if (sst.Get(r, shard.Received(j)) != sent) return false;
                if (sst.Get(r, shard.Delivered) != sent * ranks.Length) return false;
            }
        }
        _leaveComplete.TrySetResult();
        return false;
    }

    /// <summary>Says why a view runs nothing: too few members for the layout; joiners are awaited.</summary>
    private void ReportInadequate(ActiveView view) =>
        _logger.LogWarning("Member {Id}: view {View} ({Members}) is inadequate: {Reason}; no shard runs until enough members join",
            MyId, view.View.Id, string.Join(", ", view.View.Members), view.Layout.Inadequate);

    /// <summary>Has a member of a shard this member is not in multicast an ordered call for it.</summary>
    private void RelayOrdered(int shardMember, ReadOnlySpan<byte> request)
    {
        _transport.Send(shardMember, request);
        _transport.Flush();
    }
}
