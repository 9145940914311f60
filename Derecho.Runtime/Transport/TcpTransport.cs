using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Derecho.Security;
using Microsoft.Extensions.Logging;

namespace Derecho.Transport;

/// <summary>
/// The default transport: one outbound TCP connection to every peer (our writes and messages) and one
/// inbound from every peer (theirs). A one-sided write is a frame that the receiver copies into the
/// memory registered for that peer and region, so the protocol above sees the same thing RDMA gives it.
/// </summary>
internal sealed class TcpTransport : ITransport
{
    private const int SocketBufferBytes = 4 << 20;

    private readonly ILogger _logger;
    private readonly Socket _listener;
    private readonly ConcurrentDictionary<int, OutboundConnection> _outbound = new();
    private readonly ConcurrentDictionary<int, InboundConnection> _inbound = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _inboundReady = new();
    private readonly Dictionary<(int Peer, RegionKind Kind, int Epoch), InboundTarget> _regions = new();
    private readonly ReaderWriterLockSlim _regionLock = new(LockRecursionPolicy.NoRecursion);
    // Registrations whose memory was freed before their view was retired: writes to them are late, not bogus.
    private readonly HashSet<(int Peer, RegionKind Kind, int Epoch)> _withdrawn = new();
    private readonly ConcurrentDictionary<int, bool> _forgotten = new();
    private int _oldestEpoch;
    private long _droppedWrites;
    private readonly ConcurrentDictionary<InboundConnection, bool> _connections = new();
    private readonly ConcurrentDictionary<int, PeerIdentity> _identities = new();
    private readonly ConcurrentDictionary<int, bool> _refusedBy = new();
    private int _handshaking;
    private readonly ConcurrentDictionary<IPAddress, int> _handshakingFrom = new();
    private long _lastFloodWarning;
    private volatile bool _closing;

    private TcpTransport(TcpTransportOptions options, ILogger logger)
    {
        Options = options;
        _logger = logger;
        foreach (var id in options.Endpoints.Keys)
            if (id != options.LocalId) _inboundReady[id] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var local = options.Endpoints[options.LocalId];
        _listener = new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            _listener.Bind(local);
        }
        catch (SocketException e)
        {
            _listener.Dispose();
            throw new TransportException($"member {options.LocalId} cannot listen on {local}: {e.Message}", e);
        }
        _listener.Listen(64);
    }

    /// <summary>Settings this transport runs with.</summary>
    public TcpTransportOptions Options { get; }

    /// <inheritdoc />
    public int LocalId => Options.LocalId;

    internal ITransportHandler Handler { get; private set; } = null!; // set by Start, before any connection is accepted

    internal bool IsClosing => _closing;

    /// <summary>Starts listening on this member's endpoint. Register regions, then call <see cref="ConnectAsync"/>.</summary>
    public static TcpTransport Listen(TcpTransportOptions options, ITransportHandler handler, ILogger logger)
    {
        var transport = Bind(options, logger);
        transport.Start(handler);
        return transport;
    }

    /// <summary>
    /// Takes this member's endpoint without accepting yet (connections wait in the backlog), so the parts that
    /// handle messages can be built around the transport; <see cref="Start"/> begins accepting.
    /// </summary>
    public static TcpTransport Bind(TcpTransportOptions options, ILogger logger) => new(options, logger);

    /// <summary>Begins accepting connections; every message and lost connection goes to <paramref name="handler"/>.</summary>
    public void Start(ITransportHandler handler)
    {
        if (Handler is not null) throw new InvalidOperationException("the transport is already started");
        Handler = handler;
        _ = AcceptLoopAsync();
    }

    /// <summary>The endpoint actually bound (useful when configured with port 0).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <inheritdoc />
    public void RegisterInbound(int peerId, RegionKind kind, int epoch, NativeRegion region, long offset, long length, bool wordAtomic)
    {
        if (offset < 0 || offset + length > region.Length) throw new ArgumentOutOfRangeException(nameof(offset));
        _regionLock.EnterWriteLock();
        try
        {
            _regions[(peerId, kind, epoch)] = new InboundTarget(region, offset, length, wordAtomic);
            _withdrawn.Remove((peerId, kind, epoch));
        }
        finally { _regionLock.ExitWriteLock(); }
    }

    /// <inheritdoc />
    public void UnregisterInbound(NativeRegion region)
    {
        // As in RetireEpochsBefore, the write lock waits for a reader thread still copying into the region.
        _regionLock.EnterWriteLock();
        try
        {
            foreach (var key in _regions.Where(r => ReferenceEquals(r.Value.Region, region)).Select(r => r.Key).ToList())
            {
                _regions.Remove(key);
                _withdrawn.Add(key);
            }
        }
        finally { _regionLock.ExitWriteLock(); }
    }

    /// <inheritdoc />
    public void RetireEpochsBefore(int epoch)
    {
        // The write lock waits for every reader thread that is still copying into retired memory.
        _regionLock.EnterWriteLock();
        try
        {
            _oldestEpoch = Math.Max(_oldestEpoch, epoch);
            foreach (var key in _regions.Keys.Where(k => k.Epoch < epoch).ToList()) _regions.Remove(key);
            _withdrawn.RemoveWhere(k => k.Epoch < epoch); // stale by epoch from now on
        }
        finally { _regionLock.ExitWriteLock(); }
    }

    /// <summary>
    /// Starts a connection to a member that joins the group (or to a contact, for a joiner). Frames may be
    /// queued at once; they go out once the dial succeeds. A failed dial is reported like a lost peer.
    /// </summary>
    public void AddPeer(int peerId, IPEndPoint endpoint)
    {
        _forgotten.TryRemove(peerId, out _);
        if (_outbound.ContainsKey(peerId)) return;
        AddOutbound(peerId, () =>
        {
            var deadline = DateTime.UtcNow + Options.ConnectTimeout;
            return DialAsync(peerId, endpoint, deadline, CancellationToken.None).GetAwaiter().GetResult().Link;
        });
    }

    /// <summary>
    /// Like <see cref="AddPeer"/>, and dials again if an earlier dial (or connection) to the peer failed: a
    /// restarting member keeps looking for the others for as long as the restart takes.
    /// </summary>
    public void EnsurePeer(int peerId, IPEndPoint endpoint)
    {
        if (_outbound.TryGetValue(peerId, out var existing))
        {
            if (!existing.IsFailed) return;
            if (_outbound.TryRemove(new KeyValuePair<int, OutboundConnection>(peerId, existing))) existing.Close(TimeSpan.Zero);
        }
        AddPeer(peerId, endpoint);
    }

    /// <summary>
    /// Closes the connection we send to <paramref name="peerId"/> on, if any, so that the next <see cref="AddPeer"/>
    /// dials it anew. For a process that is not a member (a joiner the view change dropped): its next attempt may be
    /// a new incarnation, and a connection to the old one would swallow everything sent to it. Its own connection
    /// to us stays (it may be the one asking again).
    /// </summary>
    public void ResetOutbound(int peerId)
    {
        if (_outbound.TryRemove(peerId, out var stale)) stale.Close(TimeSpan.Zero);
    }

    private void AddOutbound(int peer, Func<PeerLink> connect)
    {
        var connection = new OutboundConnection(peer, connect, reason =>
        {
            if (!_forgotten.ContainsKey(peer)) Handler.OnPeerDisconnected(peer, reason);
        });
        if (!_outbound.TryAdd(peer, connection)) connection.Close(TimeSpan.Zero);
    }

    /// <summary>
    /// Sends one message to a process that is not a peer (a joiner being refused) over a connection of its own,
    /// closed once the message is out. The peer table is untouched, so the process may later join under that id.
    /// </summary>
    internal void SendOnce(int peerId, IPEndPoint endpoint, ReadOnlySpan<byte> message)
    {
        if (_closing) return;
        var connection = new OutboundConnection(peerId,
            () => DialAsync(peerId, endpoint, DateTime.UtcNow + Options.ConnectTimeout, CancellationToken.None).GetAwaiter().GetResult().Link,
            reason => _logger.LogDebug("Member {Id}: message to {Peer} not delivered: {Reason}", LocalId, peerId, reason));
        connection.Append(new FrameHeader(FrameType.Message, 0, message.Length, 0), message);
        connection.Kick();
        // Close waits for the dial and the send: not on the caller's thread (a transport reader).
        _ = Task.Run(() => connection.Close(Options.ConnectTimeout));
    }

    /// <inheritdoc />
    public void ForgetPeer(int peerId)
    {
        if (!_forgotten.TryAdd(peerId, true)) return;
        _identities.TryRemove(peerId, out _);
        if (_outbound.Remove(peerId, out var outbound)) outbound.Close(TimeSpan.FromMilliseconds(100));
        if (_inbound.TryRemove(peerId, out var inbound)) inbound.Stop();
    }

    /// <summary>Dials every peer and waits until every peer has dialled us; errors name the member and endpoint.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + Options.ConnectTimeout;
        var dials = Options.Endpoints.Where(e => e.Key != LocalId)
            .Select(e => DialAsync(e.Key, e.Value, deadline, cancellationToken)).ToArray();
        var links = await Task.WhenAll(dials).ConfigureAwait(false);
        foreach (var (peer, link) in links) AddOutbound(peer, () => link);

        var remaining = deadline - DateTime.UtcNow;
        var all = Task.WhenAll(_inboundReady.Values.Select(t => t.Task));
        var finished = await Task.WhenAny(all, Task.Delay(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, cancellationToken)).ConfigureAwait(false);
        if (finished != all)
        {
            var missing = _inboundReady.Where(p => !p.Value.Task.IsCompleted).Select(p => $"member {p.Key} ({Options.Endpoints[p.Key]})");
            throw new TransportException($"member {LocalId}: no connection from {string.Join(", ", missing)} within {Options.ConnectTimeout.TotalSeconds:0.#}s");
        }
    }

    /// <inheritdoc />
    public void Write(int peerId, RegionKind kind, int epoch, long offset, ReadOnlySpan<byte> data) =>
        Outbound(peerId)?.Append(new FrameHeader(FrameType.Write, (byte)kind, data.Length, checked((int)offset), epoch), data);

    /// <inheritdoc />
    public unsafe void WriteStable(int peerId, RegionKind kind, int epoch, long offset, byte* data, int length)
    {
        var header = new FrameHeader(FrameType.Write, (byte)kind, length, checked((int)offset), epoch);
        if (length < OutboundConnection.ZeroCopyThreshold) Outbound(peerId)?.Append(header, new ReadOnlySpan<byte>(data, length));
        else Outbound(peerId)?.AppendInPlace(header, data, length);
    }

    /// <inheritdoc />
    public void Send(int peerId, ReadOnlySpan<byte> message)
    {
        if (message.Length > Options.MaxMessageBytes)
            throw new ArgumentException($"message of {message.Length} bytes exceeds the limit of {Options.MaxMessageBytes}", nameof(message));
        Outbound(peerId)?.Append(new FrameHeader(FrameType.Message, 0, message.Length, 0), message);
    }

    /// <summary>Bytes queued for <paramref name="peerId"/> and not yet being sent (0 for a peer we do not send to).</summary>
    internal int QueuedBytes(int peerId) => _outbound.TryGetValue(peerId, out var connection) ? connection.QueuedBytes : 0;

    /// <inheritdoc />
    public void Flush()
    {
        foreach (var connection in _outbound.Values.ToArray()) connection.Kick();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _closing = true;
        foreach (var connection in _outbound.Values) connection.Close(TimeSpan.FromSeconds(5));
        _listener.Dispose();
        foreach (var connection in _connections.Keys) connection.Stop();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Finds where a write lands and holds the region lock (read side) until <see cref="ReleaseRegion"/>:
    /// memory of a retired view cannot be freed while a reader thread copies into it.
    /// Returns null with <paramref name="stale"/> set for a view already retired or a region already freed
    /// (the write is dropped).
    /// </summary>
    internal InboundTarget? AcquireRegion(int peerId, RegionKind kind, int epoch, out bool stale)
    {
        _regionLock.EnterReadLock();
        if (_regions.TryGetValue((peerId, kind, epoch), out var target)) { stale = false; return target; }
        stale = epoch < _oldestEpoch || _withdrawn.Contains((peerId, kind, epoch));
        _regionLock.ExitReadLock();
        return null;
    }

    internal void ReleaseRegion() => _regionLock.ExitReadLock();

    /// <summary>Writes dropped because their view was retired or their region freed (a late peer, not a broken one).</summary>
    internal long DroppedWrites => Interlocked.Read(ref _droppedWrites);

    internal void OnWriteDropped(int peerId, RegionKind kind, int epoch, int length)
    {
        Interlocked.Increment(ref _droppedWrites);
        _logger.LogDebug("Member {Id} dropped a write of {Length} bytes from member {Peer} to region {Kind} of view {Epoch}: no longer registered",
            LocalId, length, peerId, kind, epoch);
    }

    /// <summary>
    /// Why a hello is refused (version, group, an id its certificate does not name, a role it cannot have), or null
    /// once <paramref name="connection"/> holds the id. A second connection for an id proven by its certificate
    /// replaces the first (a restarted process, or a half-open old connection); without TLS it waits until the first
    /// is gone (transient), so a stranger cannot cut a member's connection by claiming its id.
    /// </summary>
    internal (string? Reason, bool Transient) ValidateHello(HelloMessage hello, PeerIdentity? identity, InboundConnection connection)
    {
        var id = hello.MemberId;
        if (hello.Version != HelloMessage.CurrentVersion) return ($"protocol version {hello.Version}, expected {HelloMessage.CurrentVersion}", false);
        if (hello.GroupFingerprint != Options.GroupFingerprint)
            return ($"peer {id} has group fingerprint {hello.GroupFingerprint:X16}, ours is {Options.GroupFingerprint:X16} (different group name, RingBytes or MaxPayloadBytes?)", false);
        if (id == LocalId || id < 0) return ($"id {id} cannot be a peer of {LocalId}", false);
        if (PeerIds.IsClient(LocalId) && !PeerIds.IsMember(id)) return ($"client {LocalId} accepts connections from members only, not from {id}", false);
        if (identity is { } named)
        {
            var claimed = PeerIds.IsClient(id) ? "an external client" : $"member {id}";
            if (PeerIds.IsClient(id) ? named.Role != PeerRole.Client : named != PeerIdentity.Member(id))
                return ($"the hello claims to be {claimed}, but its certificate identifies {named}", false);
            // One client certificate may hold only so many connections: each costs a thread and buffers.
            if (named.Role == PeerRole.Client && _inbound.Values.Count(c => c.Identity == named) >= Options.MaxConnectionsPerClient)
                return ($"{named} already holds {Options.MaxConnectionsPerClient} connections to this member (the limit)", false);
            if (_inbound.TryRemove(id, out var old))
            {
                _logger.LogWarning("{Local}: a new connection from {Peer} replaces its old one", LocalName, named);
                old.Close();
            }
        }
        connection.PeerId = id; // before it can be found: a connection that fails from here on is reported for this id
        connection.Identity = identity;
        if (!_inbound.TryAdd(id, connection))
        {
            connection.PeerId = -1;
            return ($"peer {id} is already connected; try again once that connection is gone", true);
        }
        return (null, false);
    }

    /// <summary>Why the certificate of the peer we dialled is not the one of <paramref name="peer"/>, or null.</summary>
    internal string? ExpectedIdentity(int peer, PeerIdentity identity)
    {
        if (PeerIds.IsMember(peer)) return identity == PeerIdentity.Member(peer) ? null : $"we dialled member {peer}, its certificate identifies {identity}";
        if (identity.Role != PeerRole.Client) return $"we dialled client {peer}, its certificate identifies {identity}";
        // A client's id is chosen at random; the certificate it connected with is the one it must answer with.
        if (!_identities.TryGetValue(peer, out var known)) return $"client {peer} has not connected to this member with a certificate";
        return known == identity ? null : $"client {peer} connected as {known}, but answers as {identity}";
    }

    /// <summary>Whether the last dial to <paramref name="peer"/> ended in a refusal (not a network failure): dialling again gets the same answer.</summary>
    internal bool WasRefusedBy(int peer) => _refusedBy.ContainsKey(peer);

    /// <summary>Whom the certificate of <paramref name="peer"/>'s connection names; null without TLS.</summary>
    internal PeerIdentity? IdentityOf(int peer) => _identities.TryGetValue(peer, out var identity) ? identity : null;

    internal void OnHandshakeDone(IPAddress? from)
    {
        Interlocked.Decrement(ref _handshaking);
        if (from is not null) _handshakingFrom.AddOrUpdate(from, 0, (_, n) => n - 1);
    }

    internal void OnInboundReady(InboundConnection connection)
    {
        if (connection.Identity is { } identity) _identities[connection.PeerId] = identity;
        if (_inboundReady.TryGetValue(connection.PeerId, out var ready)) ready.TrySetResult();
    }

    internal void OnConnectionClosed(InboundConnection connection) => _connections.TryRemove(connection, out _);

    internal void OnInboundFailed(InboundConnection connection, string reason)
    {
        if (_inbound.TryRemove(new KeyValuePair<int, InboundConnection>(connection.PeerId, connection)) && PeerIds.IsClient(connection.PeerId))
            _identities.TryRemove(connection.PeerId, out _); // a client is its connection: its id may be reused by another
        if (_closing || _forgotten.ContainsKey(connection.PeerId)) return;
        Handler.OnPeerDisconnected(connection.PeerId, reason);
    }

    private OutboundConnection? Outbound(int peerId)
    {
        if (_outbound.TryGetValue(peerId, out var connection)) return connection;
        if (_forgotten.ContainsKey(peerId)) return null; // left the view: late traffic is dropped
        throw new InvalidOperationException($"member {peerId} is not a connected peer");
    }

    private async Task AcceptLoopAsync()
    {
        while (!_closing)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (!_closing) _logger.LogError(e, "Member {Id} stopped accepting connections", LocalId);
                return;
            }
            // Each connection is a thread until it said hello: a flood of strangers gets a bounded number, and one
            // address a smaller one, so a flood from one host does not lock out the others.
            var from = (socket.RemoteEndPoint as IPEndPoint)?.Address;
            var fromThere = from is null ? 0 : _handshakingFrom.AddOrUpdate(from, 1, (_, n) => n + 1);
            if (Interlocked.Increment(ref _handshaking) > Options.MaxPendingHandshakes || fromThere > Options.MaxPendingHandshakesPerAddress)
            {
                OnHandshakeDone(from);
                WarnFlood(socket);
                socket.Dispose();
                continue;
            }
            try
            {
                Tune(socket);
                var connection = new InboundConnection(socket, this, from, _logger);
                _connections[connection] = true;
                connection.Start();
            }
            catch (SocketException e) // reset before we looked at it
            {
                OnHandshakeDone(from);
                _logger.LogDebug(e, "{Local}: an accepted connection failed at once", LocalName);
                socket.Dispose();
            }
        }
    }

    private async Task<(int Peer, PeerLink Link)> DialAsync(int peer, IPEndPoint endpoint, DateTime deadline, CancellationToken cancellationToken)
    {
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                Tune(socket);
                await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
                var link = await Handshake.DialAsync(socket, peer, endpoint, this, cancellationToken).ConfigureAwait(false);
                _refusedBy.TryRemove(peer, out _);
                return (peer, link);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
            catch (Handshake.RefusedException e) when (e.Final) // asking again gets the same answer
            {
                _refusedBy[peer] = true;
                socket.Dispose();
                throw new TransportException($"{LocalName}: {e.Message}", e);
            }
            catch (Handshake.RefusedException e) // dropped, timed out or busy: dial again until the deadline
            {
                socket.Dispose();
                last = e;
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw new TransportException(
            $"{LocalName}: member {peer} at {endpoint} is unreachable after {Options.ConnectTimeout.TotalSeconds:0.#}s: {last?.Message ?? "timed out"}", last);
    }

    private string LocalName => PeerIds.IsClient(LocalId) ? $"client {LocalId}" : $"member {LocalId}";

    private void WarnFlood(Socket socket)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastFloodWarning);
        if (now - last < 10_000 || Interlocked.CompareExchange(ref _lastFloodWarning, now, last) != last) return;
        string remote;
        try { remote = socket.RemoteEndPoint?.ToString() ?? "?"; } catch (SocketException) { remote = "?"; }
        _logger.LogWarning("{Local} refuses new connections (the latest from {Remote}): {Count} are still in their handshake, or {PerAddress} from that address (the limits; a flood?). Said at most every 10 s",
            LocalName, remote, Options.MaxPendingHandshakes, Options.MaxPendingHandshakesPerAddress);
    }

    private static void Tune(Socket socket)
    {
        socket.NoDelay = true;
        socket.SendBufferSize = SocketBufferBytes;
        socket.ReceiveBufferSize = SocketBufferBytes;
    }
}

/// <summary>Where one peer's writes to one region of one view land in local memory.</summary>
internal sealed record InboundTarget(NativeRegion Region, long Offset, long Length, bool WordAtomic);
