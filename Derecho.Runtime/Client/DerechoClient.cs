using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using Derecho.Diagnostics;
using Derecho.Errors;
using Derecho.Internal;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Rpc;
using Derecho.Security;
using Derecho.Transport;
using Derecho.Wire;
using MemoryPack;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Derecho.Client;

/// <summary>
/// A process that is not a member: it learns the view from any member, makes P2P calls to members
/// directly and has ordered calls relayed by a contact member (it gets every replica's reply), follows
/// view changes, and moves to another member when its contact fails. It uses the same generated proxies:
/// <c>await client.Subgroup&lt;Counter&gt;().Ordered.Add(5)</c>.
/// </summary>
public sealed partial class DerechoClient : IAsyncDisposable, ITransportHandler, IRpcInvoker
{
    private readonly DerechoClientOptions _options;
    private readonly ILogger _logger;
    private readonly PeerWarnings _warnings;
    private readonly TcpTransport _transport;
    private readonly int _id;
    private readonly long _packedEndpoint;
    private readonly ConcurrentDictionary<long, (PendingCall Call, int Via)> _pending = new();
    private readonly ConcurrentDictionary<int, IPEndPoint> _endpoints = new();
    private readonly ConcurrentDictionary<int, bool> _greeted = new();
    private readonly ConcurrentDictionary<long, ClientSubscription> _subscriptions = new(); // by the id of its current attempt
    private readonly ConcurrentDictionary<int, string> _lastFailure = new(); // why each member was lost, for the error of a failed connect
    private readonly object _greetGate = new();
    private readonly object _gate = new();
    private readonly TriggerBatcher _triggers;
    private readonly TaskCompletionSource _viewKnown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile int[] _members = [];
    private volatile GroupLayout _layout = new([], "no view yet");
    private volatile int _contact = -1;
    private volatile int[] _lostSinceView = []; // members whose connection broke since the last view: not dialled again
    private long _viewId = -1; // the newest view learned (under _greetGate)
    private long _nextRequest;
    private readonly SessionWindow _session = new();
    private readonly ConcurrentDictionary<long, ResendableCall> _resendable = new(); // relayed ordered calls by request id, until finished
    private readonly ConcurrentDictionary<int, Liveness> _liveness = new();
    private readonly Timer _probe;

    private DerechoClient(DerechoClientOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _id = Random.Shared.Next(1 << 30, int.MaxValue);
        _warnings = new PeerWarnings($"Client {_id}", logger);
        var listen = ParseEndpoint(options.ListenEndpoint, "ListenEndpoint");
        var fingerprint = GroupFingerprint.Of(options.GroupName, options.RingBytes, options.MaxPayloadBytes);
        var tls = options.Tls is { } t ? TlsCredentials.Load(t, "Derecho client: Tls", identity =>
            identity.Role == PeerRole.Client ? null : $"the certificate identifies {identity}; a client needs a client certificate (derecho://client/<name>)", trustedBySelf: false) : null;
        if (tls is null && ListenPolicy.Insecure(listen) is { } exposed)
        {
            if (!options.AllowInsecure)
                throw new DerechoConfigurationException($"Derecho client: Tls: {exposed} without TLS: replies would travel in the clear. Configure Tls, or set AllowInsecure = true to accept that");
            logger.LogWarning("Client is {Exposed} without TLS (AllowInsecure)", exposed);
        }
        _transport = TcpTransport.Listen(new TcpTransportOptions
        {
            LocalId = _id,
            Endpoints = new Dictionary<int, IPEndPoint> { [_id] = listen },
            GroupFingerprint = fingerprint,
            Tls = tls,
            ConnectTimeout = options.ConnectTimeout,
            MaxMessageBytes = Math.Max(options.MaxPayloadBytes + 4096, 256 << 20),
        }, this, logger);
        _packedEndpoint = PackedEndpoint.Pack(_transport.LocalEndPoint);
        var window = new TriggerWindow(Math.Min(options.MaxTriggerBatchBytes, options.MaxPayloadBytes), options.MaxTriggerBytesInFlight,
            options.MaxTriggerBytesQueued, options.RequestTimeout);
        if (window.Invalid() is { } invalid) throw new DerechoConfigurationException($"Derecho client: {invalid}");
        _triggers = new TriggerBatcher($"client {_id}", window, (member, frame) =>
        {
            _transport.Send(member, frame);
            _transport.Flush();
        });
        if (options.ContactTimeout <= TimeSpan.Zero) throw new DerechoConfigurationException($"Derecho client: ContactTimeout must be positive, not {options.ContactTimeout}");
        var period = options.ContactTimeout / 4;
        _probe = new Timer(_ => ProbeSilentMembers(), null, period, period);
    }

    int IRpcInvoker.OrderedHeaderSize => _options.ExactlyOnce ? RpcHeaders.SessionRelayHeaderSize : RpcHeaders.RelayHeaderSize;

    /// <summary>Trigger batches (frames) this client has sent.</summary>
    internal long TriggerBatchesSent => _triggers.BatchesSent;

    /// <summary>This client's id (members see it as the peer id).</summary>
    public int Id => _id;

    /// <summary>The member relaying this client's ordered calls.</summary>
    public int Contact => _contact;

    /// <summary>Members of the latest view the client heard of.</summary>
    public IReadOnlyList<int> MemberIds => _members;

    /// <summary>The layout of the latest view the client heard of.</summary>
    public GroupLayout Layout => _layout;

    /// <summary>Connects to the first contact that answers and learns the view.</summary>
    public static async Task<DerechoClient> ConnectAsync(DerechoClientOptions options, ILoggerFactory? loggers = null, CancellationToken cancellationToken = default)
    {
        if (options.Contacts.Count == 0) throw new DerechoConfigurationException("Derecho client: Contacts: no member to contact");
        var client = new DerechoClient(options, (loggers ?? NullLoggerFactory.Instance).CreateLogger("Derecho.Client"));
        for (var i = 0; i < options.Contacts.Count; i++)
            client._endpoints[options.Contacts[i].Id] = ParseEndpoint(options.Contacts[i].Endpoint, $"Contacts[{i}].Endpoint");
        var deadline = DateTime.UtcNow + options.ConnectTimeout;
        try
        {
            foreach (var contact in options.Contacts.Cycle())
            {
                if (DateTime.UtcNow > deadline) break;
                client.Greet(contact.Id);
                // A second for the view; a contact that refuses us answers at once, so the next is tried at once.
                var waitUntil = DateTime.UtcNow + TimeSpan.FromSeconds(1);
                while (!client._viewKnown.Task.IsCompleted && !client._transport.WasRefusedBy(contact.Id) && DateTime.UtcNow < waitUntil)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await Task.WhenAny(client._viewKnown.Task, Task.Delay(20, CancellationToken.None)).ConfigureAwait(false);
                }
                if (client._viewKnown.Task.IsCompleted)
                {
                    client._contact = contact.Id;
                    return client;
                }
                // Every contact refused us (wrong group, certificate, TLS): asking again gets the same answers.
                if (options.Contacts.All(c => client._transport.WasRefusedBy(c.Id))) break;
            }
            cancellationToken.ThrowIfCancellationRequested();
        }
        catch (OperationCanceledException)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        await client.DisposeAsync().ConfigureAwait(false);
        var reasons = options.Contacts.Select(c => $"member {c.Id} ({c.Endpoint}): {client._lastFailure.GetValueOrDefault(c.Id, "no answer")}");
        throw new TransportException($"client could not connect to the group: {string.Join("; ", reasons)}");
    }

    /// <summary>The typed handle of a replicated type; the generated extension methods make the calls.</summary>
    public SubgroupHandle<T> Subgroup<T>() where T : class, IReplicatedType => new(this);

    Task<QueryResults<T>> IRpcInvoker.InvokeOrdered<T>(uint typeId, int shard, uint methodId, PooledBufferWriter request)
    {
        var headerSize = ((IRpcInvoker)this).OrderedHeaderSize;
        if (ClientMessages.TooLargeToRelay(request.WrittenCount - headerSize, _options.ExactlyOnce, _options.MaxPayloadBytes) is { } tooLarge)
            return Task.FromException<QueryResults<T>>(new ArgumentException(tooLarge));
        int[] members;
        try { members = _layout.MembersOf(typeId, shard); }
        catch (ArgumentException e) { return Task.FromException<QueryResults<T>>(e); }
        if (members.Length == 0) return Task.FromException<QueryResults<T>>(new ShardUnavailableException($"shard {shard} has no members in the current view"));
        // The contact relays when it holds the shard; otherwise a member of the shard does (spread by request).
        var id = Interlocked.Increment(ref _nextRequest);
        var contact = Array.IndexOf(members, _contact) >= 0 ? _contact : members[(int)((ulong)id % (ulong)members.Length)];
        Greet(contact);
        var call = new PendingRelayedCall<T>(contact);
        // A listener's span of the call: the relay carries its context, and the relaying member's span and each replica's delivery are in its trace.
        var span = DerechoTracing.Start("derecho.ordered", ActivityKind.Client);
        if (span is not null) DerechoTracing.TagCall(span, -1, typeId, shard, methodId);
        if (!_options.ExactlyOnce)
        {
            RpcHeaders.WriteRelayHeader(request.WrittenSpanMutable, typeId, shard, methodId, id);
            if (span is not null) RpcHeaders.AppendTraceContext(request, span.Context);
            var started = StartCall(span, contact);
            Send(contact, id, call, request.WrittenSpan);
            return Observe(WithTimeout(call.Task, id, $"ordered call relayed by member {contact}"), span, started, ClientMetrics.Ordered);
        }
        // In the session: if the member relaying it is lost or fails it, the same call goes again through another,
        // and the replicas answer a call they applied before with its original replies.
        var (sequence, floor) = _session.Begin();
        RpcHeaders.WriteSessionRelayHeader(request.WrittenSpanMutable, typeId, shard, methodId, id, sequence, floor);
        if (span is not null) RpcHeaders.AppendTraceContext(request, span.Context);
        _resendable[id] = new ResendableCall(typeId, shard, sequence, request.WrittenSpan, Environment.TickCount64 + (long)_options.RequestTimeout.TotalMilliseconds);
        var began = StartCall(span, contact);
        Send(contact, id, call, request.WrittenSpan);
        return Observe(WithTimeout(call.Task, id, $"ordered call {sequence} of client {_id}'s session (relayed by member {contact} first)"), span, began, ClientMetrics.Ordered);
    }

    /// <summary>Tags the call's span with the member it goes to; a timestamp for its latency (0 when no listener measures it).</summary>
    private static long StartCall(Activity? span, int member)
    {
        if (span is { IsAllDataRequested: true }) span.SetTag("derecho.member.target", member);
        return ClientMetrics.StartTiming();
    }

    /// <summary>Records the call's latency and ends its span once it ends (nothing extra when neither is listened to).</summary>
    private static Task<T> Observe<T>(Task<T> call, Activity? span, long started, KeyValuePair<string, object?> kind)
    {
        if (started != 0) ClientMetrics.RecordWhenDone(call, started, kind);
        return DerechoTracing.StopWhenDone(call, span);
    }

    /// <summary>The call has its outcome, or the client gave up on it: it is never sent again, and the session's floor may pass it.</summary>
    private void Finish(long id)
    {
        if (!_resendable.TryRemove(id, out var call)) return;
        lock (call) call.Finish();
        _session.Finish(call.Sequence);
    }

    /// <summary>
    /// Sends a call of the session again, through a member of its shard other than <paramref name="avoid"/> and not lost
    /// since the last view (the contact when it is one); false if there is none, or the call's time is up.
    /// </summary>
    private bool Resend(long id, int avoid, string why)
    {
        if (!_resendable.TryGetValue(id, out var call) || !_pending.TryGetValue(id, out var pending)) return false;
        lock (call)
        {
            if (call.Finished || Environment.TickCount64 > call.Deadline) return false;
            int[] members;
            try { members = _layout.MembersOf(call.TypeId, call.Shard); }
            catch (ArgumentException) { return false; }
            var lost = _lostSinceView;
            var candidates = members.Where(m => m != avoid && Array.IndexOf(lost, m) < 0).ToArray();
            if (candidates.Length == 0) return false;
            var target = Array.IndexOf(candidates, _contact) >= 0 ? _contact : candidates[call.Resent % candidates.Length];
            call.Resent++;
            new Wire.WireWriter(call.Relay[(RpcHeaders.RelayHeaderSize + 8)..]).WriteInt64(Math.Min(_session.Floor, call.Sequence));
            try
            {
                Greet(target);
                if (!_pending.TryUpdate(id, (pending.Call, target), pending)) return false;
                _transport.Send(target, call.Relay);
                _transport.Flush();
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException) { return false; }
            ClientMetrics.Resent();
            _logger.LogInformation("Client {Id}: call {Sequence} of the session re-sent through member {Target} ({Why})", _id, call.Sequence, target, why);
            return true;
        }
    }

    /// <summary>
    /// A member with calls in flight that has been silent for a third of the contact timeout is asked for a sign of
    /// life (a hello: it answers with the view); one that does not answer within the rest of it is treated as lost,
    /// as if its connection broke: a paused or partitioned contact is left behind, not waited for.
    /// </summary>
    private void ProbeSilentMembers()
    {
        var now = Environment.TickCount64;
        var timeout = (long)_options.ContactTimeout.TotalMilliseconds;
        foreach (var member in _pending.Values.Select(p => p.Via).Distinct().ToList())
        {
            var liveness = _liveness.GetOrAdd(member, _ => new Liveness());
            var heard = liveness.Heard;
            if (now - heard < timeout / 3) continue;
            if (liveness.Probed <= heard)
            {
                liveness.Probed = now;
                TrySend(member, ClientMessages.Hello(_id, _packedEndpoint));
            }
            else if (now - liveness.Probed > timeout * 2 / 3)
            {
                _logger.LogWarning("Client {Id}: member {Member} did not answer for {Silent} ms; treated as lost", _id, member, now - heard);
                _transport.ForgetPeer(member);
                ((ITransportHandler)this).OnPeerDisconnected(member, $"no answer for {now - heard} ms (contact timeout {timeout} ms)");
            }
        }
    }

    Task<T> IRpcInvoker.InvokeP2P<T>(int memberId, uint typeId, int shard, uint methodId, PooledBufferWriter request, ReadTime readAt)
    {
        if (Array.IndexOf(_members, memberId) < 0)
            return Task.FromException<T>(new ArgumentException($"member {memberId} is not in the view (members: {string.Join(", ", _members)})", nameof(memberId)));
        if (shard < 0 && (shard = _layout.ShardOfMember(typeId, memberId)) < 0)
            return Task.FromException<T>(new ArgumentException($"member {memberId} holds no shard of replicated type {typeId:X8}", nameof(memberId)));
        Greet(memberId);
        var id = Interlocked.Increment(ref _nextRequest);
        RpcHeaders.WriteP2PHeader(request.WrittenSpanMutable, typeId, shard, methodId, id, readAt);
        var span = DerechoTracing.Start("derecho.p2p", ActivityKind.Client);
        if (span is not null)
        {
            DerechoTracing.TagCall(span, -1, typeId, shard, methodId);
            RpcHeaders.AppendTraceContext(request, span.Context);
        }
        var call = new PendingP2PCall<T>(memberId);
        var started = StartCall(span, memberId);
        Send(memberId, id, call, request.WrittenSpan);
        return Observe(WithTimeout(call.Task, id, $"P2P call to member {memberId}"), span, started, ClientMetrics.P2P);
    }

    /// <summary>
    /// A trigger event goes to one member of the shard: the contact when it holds the shard, else one spread by
    /// client and shard, the same while the shard's members stay the same (one connection keeps the events' order).
    /// </summary>
    Task IRpcInvoker.InvokeTrigger(uint typeId, int shard, uint methodId, PooledBufferWriter request)
    {
        int[] members;
        try { members = _layout.MembersOf(typeId, shard); }
        catch (ArgumentException e) { return Task.FromException(e); }
        if (members.Length == 0) return Task.FromException(new ShardUnavailableException($"shard {shard} has no members in the current view"));
        var contact = _contact;
        var member = Array.IndexOf(members, contact) >= 0 ? contact : members[(int)(((uint)_id + (uint)shard) % (uint)members.Length)];
        // A member lost since the last view is not dialled again (its events would wait out the timeout): another of the shard takes them.
        var lost = _lostSinceView;
        if (lost.Length > 0 && Array.IndexOf(lost, member) >= 0)
        {
            var live = Array.FindIndex(members, m => Array.IndexOf(lost, m) < 0);
            if (live < 0)
                return Task.FromException(new TriggerNotAcceptedException($"every member of shard {shard} ({string.Join(", ", members)}) was lost since the last view; the events were not sent"));
            member = members[live];
        }
        try { Greet(member); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return Task.FromException(new TriggerNotAcceptedException($"client {_id} cannot reach member {member}: {e.Message}", e));
        }
        TriggerMessages.WriteEventHeader(request.WrittenSpanMutable, typeId, methodId, shard);
        return _triggers.Enqueue(member, request.WrittenSpan);
    }

    IAsyncEnumerable<Notification<T>> IRpcInvoker.Subscribe<T>(uint typeId, int shard, string? topic, long afterVersion, CancellationToken cancellationToken) =>
        Enumerate<T>(new ClientSubscription(this, typeId, shard, topic, afterVersion, _options.NotificationBuffer, _options.RequestTimeout), cancellationToken);

    /// <summary>Subscribes when the enumeration begins; hands out each notification once, in order; unsubscribes when it stops.</summary>
    private static async IAsyncEnumerable<Notification<T>> Enumerate<T>(ClientSubscription subscription, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (version, index) = (subscription.StartVersion, subscription.StartIndex);
        try
        {
            subscription.Start();
            while (await subscription.Items.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!subscription.Items.TryRead(out var item)) continue;
                if (item.Error is { } error) throw error;
                foreach (var raw in item.Batch!)
                {
                    if (!raw.IsAfter(version, index)) continue; // had it already (from the member before)
                    (version, index) = (raw.Version, raw.Index);
                    yield return new Notification<T>(subscription.Shard, raw.Version, raw.Index, new DateTime(raw.Ticks, DateTimeKind.Utc), raw.Topic, Decode<T>(raw.Payload));
                }
                subscription.Consumed(item.Batch.Length);
            }
        }
        finally { subscription.Close(); }
    }

    /// <summary>A payload as <typeparamref name="T"/>: MemoryPack, except that <c>byte[]</c> is the bytes as notified.</summary>
    private static T Decode<T>(ReadOnlyMemory<byte> payload) =>
        typeof(T) == typeof(byte[]) ? (T)(object)payload.ToArray() : MemoryPackSerializer.Deserialize<T>(payload.Span)!;

    /// <summary>A new attempt of a subscription (at one member): its id, under which that member's messages reach it.</summary>
    internal long Register(ClientSubscription subscription)
    {
        var id = Interlocked.Increment(ref _nextRequest);
        _subscriptions[id] = subscription;
        return id;
    }

    internal void Forget(ClientSubscription subscription, long attempt) => _subscriptions.TryRemove(new KeyValuePair<long, ClientSubscription>(attempt, subscription));

    /// <summary>Sends a message to a member, greeting it first; false if it cannot be reached.</summary>
    internal bool TrySend(int member, byte[] message)
    {
        try
        {
            Greet(member);
            _transport.Send(member, message);
            _transport.Flush();
            return true;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException) { return false; }
    }

    /// <summary>Registers the call as waiting on <paramref name="member"/> (before sending: the reply may come first), then sends.</summary>
    private void Send(int member, long id, PendingCall call, ReadOnlySpan<byte> request)
    {
        _pending[id] = (call, member);
        _liveness.GetOrAdd(member, _ => new Liveness());
        try
        {
            _transport.Send(member, request);
            _transport.Flush();
        }
        catch (InvalidOperationException e) // the member is no peer (any more): the caller may retry another
        {
            if (Resend(id, member, $"member {member} cannot be reached: {e.Message}") || !_pending.TryRemove(id, out _)) return;
            Finish(id);
            call.Fail(new TransportException($"client {_id} cannot reach member {member}: {e.Message}", e));
        }
    }

    void ITransportHandler.OnWritesApplied(int peerId) { }

    void ITransportHandler.OnMessage(int peerId, ReadOnlySpan<byte> message)
    {
        if (message.IsEmpty) return;
        if (_liveness.TryGetValue(peerId, out var liveness)) liveness.Heard = Environment.TickCount64;
        switch (message[0])
        {
            // A reply counts only from the member the call went to, on that member's own connection.
            case (byte)MessageKind.Reply when RpcHeaders.TryReadReplyHeader(message, out var status, out var member, out var request):
                if (_pending.TryGetValue(request, out var p2p) && !FromExpected(peerId, member, p2p.Via, "reply", request)) break;
                if (p2p.Call is not null && p2p.Call.OnReply(member, status, message[RpcHeaders.ReplyHeaderSize..]))
                    _pending.TryRemove(request, out _);
                break;
            case (byte)MessageKind.RelayResult when ClientMessages.TryReadRelayResult(message, out var request, out var replies):
                if (!_pending.TryGetValue(request, out var relayed) || !FromExpected(peerId, peerId, relayed.Via, "relay result", request)) break;
                // The relaying member could not see it through (it stopped, or lost the shard): the session sends it again, after the view settles.
                if (replies is [{ Status: ReplyStatus.RelayFailed }] && _resendable.ContainsKey(request))
                {
                    var why = $"member {peerId} could not relay it: {System.Text.Encoding.UTF8.GetString(replies[0].Payload)}";
                    _ = Task.Delay(100).ContinueWith(_ =>
                    {
                        if (!Resend(request, peerId, why) && _pending.TryRemove(request, out var gaveUp) && gaveUp.Call is IRelayedCall failed)
                        {
                            Finish(request);
                            failed.Complete(replies);
                        }
                    }, TaskScheduler.Default);
                    break;
                }
                if (_pending.TryRemove(request, out _) && relayed.Call is IRelayedCall call)
                {
                    Finish(request);
                    call.Complete(replies);
                }
                break;
            case (byte)MessageKind.TriggerAck when TriggerMessages.TryReadAck(message, out var ackedBatch, out var ackStatus, out var ackReason):
                _triggers.OnAck(peerId, ackedBatch, ackStatus, ackReason); // only a batch sent to this very peer
                break;
            case (byte)MessageKind.ViewInfo when JoinMessages.TryReadViewProposal(message, out var viewId, out _, out var members, out var layoutBytes):
                if (GroupLayout.TryDeserialize(layoutBytes, typeId => $"type {typeId:X8}") is not { } layout)
                {
                    if (_warnings.ShouldLog(peerId)) _logger.LogWarning("Client {Id}: view {View} from member {Peer} carries a malformed layout; ignored", _id, viewId, peerId);
                    break;
                }
                bool newer;
                lock (_greetGate)
                {
                    // A view older than the one we know (a slow contact, an answer to a hello) changes nothing.
                    if (viewId < _viewId) break;
                    newer = viewId > _viewId;
                    foreach (var (id, endpoint) in members) _endpoints[id] = PackedEndpoint.Unpack(endpoint);
                    _layout = layout;
                    _members = members.Select(m => m.Id).ToArray();
                    if (viewId > _viewId) _lostSinceView = []; // the same view again keeps what we lost in it
                    _viewId = viewId;
                }
                // Trigger batches to a member that left the view fail now (it may never break the connection, or be dialled in vain).
                foreach (var gone in _triggers.Members.Where(m => Array.IndexOf(_members, m) < 0).ToList()) _triggers.OnPeerLost(gone, $"member {gone} left the view");
                _viewKnown.TrySetResult();
                if (!newer) break; // the same view again (an answer to a probe)
                _logger.LogInformation("Client {Id} learned view {View}: {Members}", _id, viewId, string.Join(", ", _members));
                foreach (var subscription in _subscriptions.Values.Distinct().ToList()) subscription.OnView();
                break;
            case (byte)MessageKind.Notification:
                var frame = message.ToArray(); // the payloads point into it until the enumeration has read them
                if (NotificationMessages.TryReadBatch(frame, out var attempt, out var batch))
                {
                    if (_subscriptions.TryGetValue(attempt, out var target)) target.OnBatch(peerId, attempt, batch);
                }
                else if (_warnings.ShouldLog(peerId)) _logger.LogWarning("Client {Id}: malformed notification batch of {Length} bytes from member {Peer} ignored", _id, message.Length, peerId);
                break;
            case (byte)MessageKind.SubscriptionEnded when NotificationMessages.TryReadEnded(message, out var ended, out var reason, out _, out var why):
                if (_subscriptions.TryGetValue(ended, out var subscriber)) subscriber.OnEnded(peerId, ended, reason, why);
                break;
            case (byte)MessageKind.StatusReply:
                OnStatusReply(peerId, message);
                break;
            default:
                if (_warnings.ShouldLog(peerId)) _logger.LogWarning("Client {Id}: unexpected message kind {Kind} from member {Peer} ignored", _id, message[0], peerId);
                break;
        }
    }

    /// <summary>A member went away: fail what waited on it; if it was our contact, move to another member.</summary>
    void ITransportHandler.OnPeerDisconnected(int peerId, string reason)
    {
        _lastFailure[peerId] = reason;
        _greeted.TryRemove(peerId, out _);
        _warnings.Forget(peerId);
        _transport.ForgetPeer(peerId);
        lock (_greetGate) _lostSinceView = [.. _lostSinceView, peerId]; // first: a trigger routed meanwhile must not recreate its lane
        _triggers.OnPeerLost(peerId, reason);
        foreach (var subscription in _subscriptions.Values.Distinct().ToList()) subscription.OnPeerLost(peerId, reason);
        FailStatusQueries(peerId, new TransportException($"lost the connection to member {peerId} before it answered the status query ({reason})"));
        if (peerId == _contact)
        {
            var next = _members.Where(m => m != peerId && Array.IndexOf(_lostSinceView, m) < 0)
                .Concat(_options.Contacts.Select(c => c.Id).Where(c => c != peerId)).FirstOrDefault(-1);
            _logger.LogWarning("Client {Id}: contact member {Old} lost ({Reason}); switching to member {New}", _id, peerId, reason, next);
            _contact = next;
            if (next >= 0) ClientMetrics.FailedOver();
            if (next >= 0)
            {
                try { Greet(next); }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException) { _logger.LogWarning("Client {Id}: cannot reach member {New}: {Reason}", _id, next, e.Message); }
            }
        }
        // Calls of the session go again through another member; any other call's outcome is unknown.
        foreach (var (id, (call, via)) in _pending)
        {
            if (via != peerId || Resend(id, peerId, $"member {peerId} was lost: {reason}") || !_pending.TryRemove(id, out _)) continue;
            Finish(id);
            call.Fail(new RemoteCallException(peerId, $"lost the connection before replying ({reason}); the call may or may not have been applied"));
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var subscription in _subscriptions.Values.Distinct().ToList()) subscription.Fail(new ObjectDisposedException(nameof(DerechoClient)));
        await _probe.DisposeAsync().ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
        FailStatusQueries(-1, new ObjectDisposedException(nameof(DerechoClient)));
        _triggers.Dispose();
        foreach (var (id, (call, _)) in _pending)
        {
            if (!_pending.TryRemove(id, out _)) continue;
            Finish(id);
            call.Fail(new ObjectDisposedException(nameof(DerechoClient)));
        }
    }

    /// <summary>Whether an answer to <paramref name="request"/> came from the member it was sent to; else it is logged and dropped.</summary>
    private bool FromExpected(int peer, int claimed, int expected, string what, long request)
    {
        if (peer == expected && claimed == expected) return true;
        if (!_warnings.ShouldLog(peer)) return false;
        _logger.LogWarning("Client {Id}: {What} for request {Request} from {Peer} (claiming member {Claimed}) ignored: the call went to member {Expected}",
            _id, what, request, peer, claimed, expected);
        return false;
    }

    private static IPEndPoint ParseEndpoint(string text, string key) =>
        PackedEndpoint.Parse(text, problem => new DerechoConfigurationException($"Derecho client: {key}: {problem}"));

    /// <summary>
    /// Says hello to a member the first time a call goes to it. Marked greeted only once it is a peer: a second
    /// caller that saw the mark before the first made it a peer sent into nothing ("not a connected peer").
    /// </summary>
    private void Greet(int member)
    {
        if (_greeted.ContainsKey(member)) return;
        lock (_greetGate)
        {
            if (_greeted.ContainsKey(member)) return;
            if (!_endpoints.TryGetValue(member, out var endpoint)) throw new ArgumentException($"no endpoint known for member {member}");
            _transport.AddPeer(member, endpoint);
            _transport.Send(member, ClientMessages.Hello(_id, _packedEndpoint));
            _transport.Flush();
            _greeted[member] = true;
        }
    }

    private async Task<T> WithTimeout<T>(Task<T> call, long id, string what)
    {
        try
        {
            return await call.WaitAsync(_options.RequestTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _pending.TryRemove(id, out _);
            Finish(id);
            throw new CallTimeoutException($"{what} got no reply within {_options.RequestTimeout.TotalSeconds:0.#}s");
        }
    }
}

internal static class CycleExtensions
{
    /// <summary>Repeats a list forever (callers stop by deadline).</summary>
    public static IEnumerable<T> Cycle<T>(this IReadOnlyList<T> items)
    {
        while (true)
            foreach (var item in items) yield return item;
    }
}
