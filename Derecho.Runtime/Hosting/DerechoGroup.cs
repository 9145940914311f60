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
/// A running member: transport, shared state table, multicast and the replicas it hosts, driven by one
/// protocol thread. Membership is static in this version: the configured members, view 0.
/// </summary>
public sealed class DerechoGroup : IAsyncDisposable, ITransportHandler
{
    private readonly ValidatedOptions _options;
    private readonly ILogger _logger;
    private readonly SharedStateTable _sst;
    private readonly RpcEngine _engine;
    private readonly SmallMessageMulticast _multicast;
    private readonly PredicateLoop _loop;
    private readonly TcpTransport _transport;
    private readonly TaskCompletionSource _leaveComplete = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastHeartbeat = Environment.TickCount64;
    private volatile bool _leaveRequested;
    private int _disposed;

    private DerechoGroup(ValidatedOptions options, LayoutBuilder layout, ILoggerFactory loggers)
    {
        _options = options;
        _logger = loggers.CreateLogger($"Derecho.Member{options.Options.MyId}");
        View = new View(0, options.MemberIds);
        var myRank = View.RankOf(MyId);
        _sst = new SharedStateTable(View.Members, myRank);
        _engine = new RpcEngine(MyId, options.MemberIds, _logger);
        foreach (var registration in layout.Registrations)
        {
            var context = _engine.CreateContext();
            _engine.Register(registration.TypeId, registration.Factory(context), context, registration.Name);
        }

        _transport = TcpTransport.Listen(new TcpTransportOptions
        {
            LocalId = MyId,
            Endpoints = options.Endpoints,
            GroupFingerprint = options.Fingerprint,
            ConnectTimeout = options.Options.ConnectTimeout,
            MaxMessageBytes = options.Options.MaxPayloadBytes + 4096,
        }, this, _logger);
        _sst.RegisterWith(_transport);
        _multicast = new SmallMessageMulticast(_sst, _transport, View.Members,
            new MulticastOptions { RingBytes = options.Options.RingBytes, MaxPayloadBytes = options.Options.MaxPayloadBytes }, _engine);
        _loop = new PredicateLoop(_sst, _transport, _logger, options.Options.HeartbeatInterval);
        _multicast.AddPredicates(_loop);
        _engine.Attach(_multicast, _transport, _loop);
        _loop.Add("heartbeat", HeartbeatStep);
        _loop.Add("leave", LeaveStep);
        _multicast.OnQueued = _loop.Wake;
        _loop.Faulted += e => Fail($"protocol failure: {e.Message}");
    }

    /// <summary>This member's id.</summary>
    public int MyId => _options.Options.MyId;

    /// <summary>The installed view.</summary>
    public View View { get; }

    /// <summary>Completes with a reason if the group can no longer make progress (a member failed).</summary>
    public Task<string> Failed => _failed.Task;

    /// <summary>Application messages this member has delivered.</summary>
    public long DeliveredMessages => _multicast.DeliveredMessages;

    /// <summary>Delivery batches (DeliveredMessages / DeliveryBatches is the mean receiver-side batch).</summary>
    public long DeliveryBatches => _multicast.DeliveryBatches;

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
    /// Leaves gracefully: stops sending, waits until every member has delivered every message sent by
    /// anyone (all rows flagged leaving, all counters equal), then closes. Every member must call it.
    /// </summary>
    public async Task LeaveAsync()
    {
        _multicast.Stop("this member is leaving the group");
        _leaveRequested = true;
        _loop.Wake();
        var timeout = Task.Delay(_options.Options.LeaveTimeout);
        var finished = await Task.WhenAny(_leaveComplete.Task, _failed.Task, timeout).ConfigureAwait(false);
        if (finished == timeout)
            _logger.LogWarning("Member {Id}: leave did not complete within {Timeout}; closing anyway", MyId, _options.Options.LeaveTimeout);
        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Closes without the leave barrier.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _multicast.Stop("group disposed");
        _loop.Dispose();
        await _transport.DisposeAsync().ConfigureAwait(false);
        _engine.Stop(new ObjectDisposedException(nameof(DerechoGroup), $"member {MyId} has left the group"));
        _multicast.Dispose();
        _sst.Dispose();
    }

    void ITransportHandler.OnWritesApplied(int peerId) => _loop.Wake();

    void ITransportHandler.OnMessage(int peerId, ReadOnlySpan<byte> message) => _engine.OnMessage(peerId, message);

    void ITransportHandler.OnPeerDisconnected(int peerId, string reason)
    {
        if (_leaveRequested || _disposed == 1) return;
        _logger.LogError("Member {Peer} failed: {Reason}. Membership is static, so the group cannot continue without it", peerId, reason);
        _engine.FailCallsAwaiting(peerId, $"member failed: {reason}");
        Fail($"member {peerId} failed: {reason}");
    }

    private void Fail(string reason)
    {
        if (!_failed.TrySetResult(reason)) return;
        _multicast.Stop(reason);
        _engine.Stop(new InvalidOperationException(reason));
    }

    private bool HeartbeatStep()
    {
        var now = Environment.TickCount64;
        if (now - _lastHeartbeat < _options.Options.HeartbeatInterval.TotalMilliseconds) return false;
        _lastHeartbeat = now;
        _sst.Set(_sst.Layout.Heartbeat, _sst.Get(_sst.MyRank, _sst.Layout.Heartbeat) + 1);
        return false;
    }

    /// <summary>When leaving: flag our row; when every row is flagged and all counters agree, the leave is complete.</summary>
    private bool LeaveStep()
    {
        if (!_leaveRequested || _leaveComplete.Task.IsCompleted) return false;
        var columns = _sst.Layout;
        if (_sst.Get(_sst.MyRank, columns.Status) != (long)MemberStatus.Leaving)
        {
            _sst.Set(columns.Status, (long)MemberStatus.Leaving);
            return true;
        }
        var n = _sst.Rows;
        var sent = _sst.Get(0, columns.Received(0));
        for (var r = 0; r < n; r++)
        {
            if (_sst.Get(r, columns.Status) != (long)MemberStatus.Leaving) return false;
            for (var j = 0; j < n; j++)
                if (_sst.Get(r, columns.Received(j)) != sent) return false;
            if (_sst.Get(r, columns.Delivered) != sent * n) return false;
        }
        _leaveComplete.TrySetResult();
        return false;
    }
}
