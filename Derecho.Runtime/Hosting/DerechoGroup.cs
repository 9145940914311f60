using System.Collections.Concurrent;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Multicast;
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
/// </summary>
public sealed class DerechoGroup : IAsyncDisposable, ITransportHandler, IViewChangeHost
{
    private readonly ValidatedOptions _options;
    private readonly ILogger _logger;
    private readonly RpcEngine _engine;
    private readonly MulticastOptions _multicastOptions;
    private readonly PredicateLoop _loop;
    private readonly TcpTransport _transport;
    private readonly ConcurrentQueue<(int, string)> _failureReports = new();
    private readonly object _viewGate = new();
    private readonly TaskCompletionSource _leaveComplete = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ActiveView _current;
    private long _lastHeartbeat = Environment.TickCount64;
    private volatile bool _leaveRequested;
    private int _disposed;

    private DerechoGroup(ValidatedOptions options, LayoutBuilder layout, ILoggerFactory loggers)
    {
        _options = options;
        _logger = loggers.CreateLogger($"Derecho.Member{options.Options.MyId}");
        _engine = new RpcEngine(MyId, options.MemberIds, _logger);
        foreach (var registration in layout.Registrations)
        {
            var context = _engine.CreateContext();
            _engine.Register(registration.TypeId, registration.Factory(context), context, registration.Name);
        }
        _multicastOptions = new MulticastOptions { RingBytes = options.Options.RingBytes, MaxPayloadBytes = options.Options.MaxPayloadBytes };

        _transport = TcpTransport.Listen(new TcpTransportOptions
        {
            LocalId = MyId,
            Endpoints = options.Endpoints,
            GroupFingerprint = options.Fingerprint,
            ConnectTimeout = options.Options.ConnectTimeout,
            MaxMessageBytes = options.Options.MaxPayloadBytes + 4096,
        }, this, _logger);
        _current = new ActiveView(new View(0, options.MemberIds), MyId, _transport, _multicastOptions, _engine, proposalId: 0);
        _engine.DeliveringView = options.MemberIds;
        _loop = new PredicateLoop(_current.Sst, _transport, _logger, options.Options.HeartbeatInterval);
        _loop.Replace(_current.Sst, StepsFor(_current));
        _engine.Attach(SendOrdered, _transport, _loop);
        _loop.Faulted += e => Fail($"protocol failure: {e.Message}");
    }

    /// <summary>This member's id.</summary>
    public int MyId => _options.Options.MyId;

    /// <summary>The installed view.</summary>
    public View View => Volatile.Read(ref _current).View;

    /// <summary>Raised (on the thread pool) after a new view is installed: the view, who joined, who departed.</summary>
    public event Action<View, IReadOnlyList<int>, IReadOnlyList<int>>? ViewChanged;

    /// <summary>Whether a view change is under way: the current view is wedged and the next not yet installed.</summary>
    public bool IsChangingView => Volatile.Read(ref _current).Multicast.IsWedged && !_failed.Task.IsCompleted;

    /// <summary>Completes with the reason if this member stopped: excluded by the others, or cut off from a majority.</summary>
    public Task<string> Failed => _failed.Task;

    /// <summary>Application messages this member has delivered in the current view.</summary>
    public long DeliveredMessages => Volatile.Read(ref _current).Multicast.DeliveredMessages;

    /// <summary>Delivery batches in the current view (DeliveredMessages / DeliveryBatches is the mean receiver-side batch).</summary>
    public long DeliveryBatches => Volatile.Read(ref _current).Multicast.DeliveryBatches;

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
            await group._transport.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await group.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        group._loop.Start();
        group._logger.LogInformation("Member {Id} joined view {View} with members {Members}", group.MyId, group.View.Id, string.Join(", ", group.View.Members));
        return group;
    }

    /// <summary>The typed handle of a hosted replicated type; its generated extension methods make the calls.</summary>
    public SubgroupHandle<T> Subgroup<T>() where T : class, IReplicatedType =>
        _engine.HasReplica(T.ReplicatedTypeId) ? new SubgroupHandle<T>(_engine)
            : throw new InvalidOperationException($"{typeof(T).FullName} is not in this group's layout");

    /// <summary>
    /// Shuts the group down gracefully: stops sending, waits until every member has delivered every message
    /// sent by anyone (all rows flagged leaving, all counters equal), then closes. Every member must call it.
    /// </summary>
    public async Task LeaveAsync()
    {
        Volatile.Read(ref _current).Multicast.Stop("this member is leaving the group");
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
        var view = Volatile.Read(ref _current);
        view.Multicast.Stop("group disposed");
        _loop.Dispose();
        await _transport.DisposeAsync().ConfigureAwait(false);
        _engine.Stop(new ObjectDisposedException(nameof(DerechoGroup), $"member {MyId} has left the group"));
        view.Dispose();
        lock (_viewGate) Monitor.PulseAll(_viewGate);
    }

    void ITransportHandler.OnWritesApplied(int peerId) => _loop.Wake();

    void ITransportHandler.OnMessage(int peerId, ReadOnlySpan<byte> message) => _engine.OnMessage(peerId, message);

    void ITransportHandler.OnPeerDisconnected(int peerId, string reason)
    {
        if (_leaveRequested || _disposed == 1) return;
        _failureReports.Enqueue((peerId, $"connection lost: {reason}"));
        _loop.Wake();
    }

    ActiveView IViewChangeHost.Prepare(View next, long proposalId) =>
        new(next, MyId, _transport, _multicastOptions, _engine, proposalId);

    void IViewChangeHost.Install(ActiveView next, long[] trim)
    {
        var old = _current;
        var departed = old.View.Members.Except(next.View.Members).ToArray();
        var resend = old.Multicast.TakeUndelivered(trim[old.Rank]);
        // The commit echo must reach the others before we stop pushing the old table.
        old.Sst.PushChanges(_transport);
        _transport.Flush();

        _engine.DeliveringView = next.View.Members.ToArray();
        foreach (var payload in resend)
            if (!next.Multicast.TrySendNow(payload))
                throw new InvalidOperationException("a re-sent message does not fit the new view's ring");
        _engine.OnViewInstalled(next.View.Members.ToArray(), departed, resend.Select(p => RpcEngine.RequestIdOf(p)).ToHashSet());
        lock (_viewGate)
        {
            Volatile.Write(ref _current, next);
            Monitor.PulseAll(_viewGate);
        }
        _loop.Replace(next.Sst, StepsFor(next));
        foreach (var member in departed) _transport.ForgetPeer(member);
        _transport.RetireEpochsBefore(checked((int)next.View.Id));
        old.Dispose();

        _logger.LogInformation("Member {Id} installed view {View}: members {Members}; departed {Departed}; re-sent {Resent} trimmed message(s)",
            MyId, next.View.Id, string.Join(", ", next.View.Members), string.Join(", ", departed), resend.Count);
        var handlers = ViewChanged;
        if (handlers is not null) ThreadPool.QueueUserWorkItem(_ => handlers(next.View, [], departed));
    }

    void IViewChangeHost.Fail(string reason) => Fail(reason);

    private IEnumerable<(string Name, PredicateLoop.Step Step)> StepsFor(ActiveView view)
    {
        var protocol = new ViewChangeProtocol(view, this, _logger, _options.Options.FailureTimeout, _failureReports);
        return view.Multicast.Predicates()
            .Append(_engine.P2PPredicate)
            .Append(("heartbeat", HeartbeatStep))
            .Concat(protocol.Predicates())
            .Append(("leave", LeaveStep));
    }

    /// <summary>Puts an ordered call into the current view; while a view change is under way, waits for the next view.</summary>
    private void SendOrdered(ReadOnlySpan<byte> payload)
    {
        while (true)
        {
            var view = Volatile.Read(ref _current);
            if (view.Multicast.SendUnlessWedged(payload)) return;
            lock (_viewGate)
            {
                while (ReferenceEquals(_current, view) && !_failed.Task.IsCompleted && _disposed == 0)
                    Monitor.Wait(_viewGate, 100);
            }
            if (_failed.Task.IsCompleted) throw new InvalidOperationException($"member {MyId} stopped: {_failed.Task.Result}");
            if (_disposed == 1) throw new ObjectDisposedException(nameof(DerechoGroup));
        }
    }

    private void Fail(string reason)
    {
        if (!_failed.TrySetResult(reason)) return;
        _logger.LogError("Member {Id} stops: {Reason}", MyId, reason);
        Volatile.Read(ref _current).Multicast.Stop(reason);
        _engine.Stop(new InvalidOperationException($"member {MyId} stopped: {reason}"));
        lock (_viewGate) Monitor.PulseAll(_viewGate);
    }

    private bool HeartbeatStep()
    {
        var now = Environment.TickCount64;
        if (now - _lastHeartbeat < _options.Options.HeartbeatInterval.TotalMilliseconds) return false;
        _lastHeartbeat = now;
        var sst = _current.Sst;
        sst.Set(sst.Layout.Heartbeat, sst.Get(sst.MyRank, sst.Layout.Heartbeat) + 1);
        return false;
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
        var n = sst.Rows;
        var sent = sst.Get(0, columns.Received(0));
        for (var r = 0; r < n; r++)
        {
            if (sst.Get(r, columns.Status) != (long)MemberStatus.Leaving) return false;
            for (var j = 0; j < n; j++)
                if (sst.Get(r, columns.Received(j)) != sent) return false;
            if (sst.Get(r, columns.Delivered) != sent * n) return false;
        }
        _leaveComplete.TrySetResult();
        return false;
    }
}
