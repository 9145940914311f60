using System.Collections.Concurrent;
using System.Net;
using Derecho.Internal;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Persistence;
using Derecho.Replication;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Hosting;

/// <summary>
/// How a member that is not told to join starts: it reports the newest view it logged and what its replica
/// logs hold to every member it knows of, until the restart leader (<see cref="RestartPlan.Leader"/>) has
/// what <see cref="RestartPlan.Decide"/> needs and sends the restart view. Members behind a shard's longest
/// log fetch the missing records from its holder before the view starts. A member that is not in the
/// restart view, or that finds the group already running, is told to join it instead.
/// On a first start (no member logged a view) this is the old rule: every configured member, view 0.
/// </summary>
internal sealed class RestartHandshake
{
    private readonly int _myId;
    private readonly ValidatedOptions _options;
    private readonly TcpTransport _transport;
    private readonly ReplicaStore _replicas;
    private readonly IReadOnlyList<SubgroupSpec> _specs;
    private readonly PeerWarnings _warnings;
    private readonly ILogger _logger;
    private readonly RestartReport _mine;
    private readonly Dictionary<int, IPEndPoint> _contacts = new();
    private readonly ConcurrentDictionary<int, RestartReport> _reports = new();
    private readonly ConcurrentDictionary<int, string> _unreachable = new();
    private readonly ConcurrentDictionary<(long View, int Member), bool> _ready = new();
    // Leader: what each member was answered (the restart view, or rejoin), to answer again if it reports again.
    private readonly ConcurrentDictionary<int, byte[]> _answers = new();
    private readonly ConcurrentDictionary<(uint TypeId, int Shard), (int Source, TaskCompletionSource Done)> _tails = new();
    private readonly TaskCompletionSource<RestartViewMessage> _decided = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<RestartRejoin> _rejoin = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RestartHandshake(int myId, ValidatedOptions options, TcpTransport transport, ReplicaStore replicas, IReadOnlyList<SubgroupSpec> specs, LoggedView? logged, PeerWarnings warnings, ILogger logger)
    {
        _myId = myId;
        _options = options;
        _transport = transport;
        _replicas = replicas;
        _specs = specs;
        _warnings = warnings;
        _logger = logger;
        var lastAdequate = logged is { LastAdequate.Length: > 0 } ? GroupLayout.TryDeserialize(logged.LastAdequate, replicas.NameOf) : null;
        var members = logged is null ? [] : logged.Ids.Zip(logged.Endpoints).ToArray();
        _mine = new RestartReport(myId, logged?.ViewId ?? -1, members, lastAdequate, ShardsHeldIn(lastAdequate).ToArray());
        _reports[myId] = _mine;
        // The configured endpoints win (an operator may have moved a member); logged ones reach members that joined later.
        foreach (var (id, packed) in members) _contacts[id] = PackedEndpoint.Unpack(packed);
        foreach (var (id, endpoint) in options.Endpoints) _contacts[id] = endpoint;
        _contacts.Remove(myId);
    }

    /// <summary>
    /// Leader, after deciding: a member that still reports did not get its answer (the connection it went out
    /// on broke): dial again if need be and send it once more. Answers are idempotent.
    /// </summary>
    private void AnswerAgain(int peer)
    {
        if (!_answers.TryGetValue(peer, out var answer) || !_contacts.TryGetValue(peer, out var endpoint)) return;
        _transport.EnsurePeer(peer, endpoint);
        _transport.Send(peer, answer);
        _transport.Flush();
    }

    /// <summary>What the restart decided: the view to install, or the group to join.</summary>
    public sealed record Outcome(RestartViewMessage? View, RestartRejoin? Rejoin);

    /// <summary>Reports until the leader decides (or someone says to join); then brings this member's logs up to the longest.</summary>
    public async Task<Outcome> RunAsync(CancellationToken cancellationToken)
    {
        var hello = RestartMessages.Encode(MessageKind.RestartHello, new RestartHello(_myId, _mine.ViewId, _mine.Members.Select(m => m.Id).ToArray(),
            _mine.Members.Select(m => m.Endpoint).ToArray(), _mine.LastAdequate?.Serialize() ?? [],
            _mine.Shards.Select(s => s.TypeId).ToArray(), _mine.Shards.Select(s => s.Shard).ToArray(), _mine.Shards.Select(s => s.Version).ToArray()));
        var firstStart = DateTime.UtcNow + _options.Options.ConnectTimeout;
        DateTime? quorumSince = null;
        var lastWarning = DateTime.UtcNow;
        var sentDecision = false;
        while (!_decided.Task.IsCompleted && !_rejoin.Task.IsCompleted)
        {
            foreach (var (id, endpoint) in _contacts)
            {
                _transport.EnsurePeer(id, endpoint);
                _transport.Send(id, hello);
            }
            _transport.Flush();

            // A connection that breaks while members start is dialled again (a peer may refuse a duplicate, or
            // restart); only a first start that does not hear from everyone within ConnectTimeout fails.
            var isRestart = _reports.Values.Any(r => r.ViewId >= 0);
            if (!isRestart && DateTime.UtcNow > firstStart)
                throw new TransportException($"member {_myId}: " + string.Join("; ", _contacts.Where(c => !_reports.ContainsKey(c.Key))
                    .Select(c => $"member {c.Key} at {c.Value} is unreachable after {_options.Options.ConnectTimeout.TotalSeconds:0.#}s" +
                                 (_unreachable.TryGetValue(c.Key, out var why) ? $" ({why})" : ""))));

            var snapshot = new Dictionary<int, RestartReport>(_reports);
            if (!sentDecision && RestartPlan.Leader(snapshot) == _myId)
            {
                var decision = RestartPlan.Decide(Configured(), snapshot, out var waitingFor);
                // A quorum is enough, but members of the newest view still recovering their logs get up to
                // ConnectTimeout to be part of the restart view (otherwise they would rejoin as new members).
                var missing = snapshot.Values.MaxBy(r => r.ViewId)!.Members.Select(m => m.Id).Where(id => !snapshot.ContainsKey(id)).ToList();
                if (decision is not null) quorumSince ??= DateTime.UtcNow;
                else quorumSince = null;
                if (decision is not null && (missing.Count == 0 || DateTime.UtcNow - quorumSince > _options.Options.ConnectTimeout))
                {
                    Announce(decision);
                    sentDecision = true;
                }
                else if (decision is not null && DateTime.UtcNow - lastWarning > TimeSpan.FromSeconds(5))
                {
                    lastWarning = DateTime.UtcNow;
                    _logger.LogWarning("Member {Id} (restart leader) has a quorum; waits up to {Timeout}s for member(s) {Missing} of the last view before restarting without them",
                        _myId, _options.Options.ConnectTimeout.TotalSeconds, string.Join(", ", missing));
                }
                else if (decision is null && DateTime.UtcNow - lastWarning > TimeSpan.FromSeconds(5))
                {
                    lastWarning = DateTime.UtcNow;
                    _logger.LogWarning("Member {Id} (restart leader) waits: {Waiting}", _myId, waitingFor);
                }
            }
            else if (!sentDecision && isRestart && DateTime.UtcNow - lastWarning > TimeSpan.FromSeconds(5))
            {
                lastWarning = DateTime.UtcNow;
                _logger.LogWarning("Member {Id} waits for the restart leader, member {Leader}; heard from {Heard}", _myId, RestartPlan.Leader(snapshot), string.Join(", ", snapshot.Keys.Order()));
            }
            await Task.WhenAny(_decided.Task, _rejoin.Task, Task.Delay(200, cancellationToken)).ConfigureAwait(false);
        }
        if (_rejoin.Task.IsCompleted) return new Outcome(null, await _rejoin.Task.ConfigureAwait(false));
        var view = await _decided.Task.ConfigureAwait(false);
        await CatchUpAsync(view, cancellationToken).ConfigureAwait(false);
        return new Outcome(view, null);
    }

    /// <summary>Waits until every member of the restart view has registered its memory for it (their writes may start then).</summary>
    public async Task AwaitReadyAsync(long viewId, IReadOnlyList<int> members, CancellationToken cancellationToken)
    {
        var ready = RestartMessages.Encode(MessageKind.RestartReady, new RestartReady(viewId));
        foreach (var id in members.Where(id => id != _myId)) _transport.Send(id, ready);
        _transport.Flush();
        var deadline = DateTime.UtcNow + _options.Options.ConnectTimeout;
        while (members.Any(id => id != _myId && !_ready.ContainsKey((viewId, id))))
        {
            if (DateTime.UtcNow > deadline)
                throw new TransportException($"member {_myId}: member(s) {string.Join(", ", members.Where(id => id != _myId && !_ready.ContainsKey((viewId, id))))} of the restart view {viewId} did not start it within {_options.Options.ConnectTimeout.TotalSeconds:0.#}s");
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A restart message from a peer (transport thread).</summary>
    public void OnMessage(int peer, ReadOnlySpan<byte> message)
    {
        switch ((MessageKind)message[0])
        {
            case MessageKind.RestartHello when RestartMessages.TryDecode<RestartHello>(message) is { } hello && hello.Id == peer && Valid(hello):
                _reports[peer] = new RestartReport(peer, hello.ViewId, hello.Ids.Zip(hello.Endpoints).ToArray(),
                    hello.LastAdequate.Length == 0 ? null : GroupLayout.TryDeserialize(hello.LastAdequate, _replicas.NameOf),
                    hello.TypeIds.Select((t, i) => (t, hello.Shards[i], hello.Versions[i])).ToArray());
                AnswerAgain(peer);
                break;
            case MessageKind.RestartView when RestartMessages.TryDecode<RestartViewMessage>(message) is { } view && view.Leader == peer && Valid(view):
                if (view.ViewId > _mine.ViewId && view.Ids.Contains(_myId)) _decided.TrySetResult(view);
                break;
            case MessageKind.RestartRejoin when RestartMessages.TryDecode<RestartRejoin>(message) is { } rejoin && Valid(rejoin):
                if (!_decided.Task.IsCompleted) _rejoin.TrySetResult(rejoin);
                break;
            case MessageKind.RestartReady when RestartMessages.TryDecode<RestartReady>(message) is { } ready:
                _ready[(ready.ViewId, peer)] = true;
                break;
            case MessageKind.LogTail when RestartMessages.TryDecode<LogTailChunk>(message) is { Versions: not null, Ticks: not null, Payloads: not null } chunk
                && chunk.Versions.Length == chunk.Ticks.Length && chunk.Ticks.Length == chunk.Payloads.Length && chunk.Payloads.All(p => p is not null):
                ApplyTail(peer, chunk);
                break;
            case MessageKind.LogTailRequest: // served by the group at any time (LogTails.Serve)
                break;
            default:
                if (_warnings.ShouldLog(peer))
                    _logger.LogWarning("Member {Id}: malformed restart message (kind {Kind}, {Length} bytes) from member {Peer} ignored", _myId, message[0], message.Length, peer);
                break;
        }
    }

    /// <summary>A connection failed: the handshake dials again; a log tail it was sending is lost.</summary>
    public void OnPeerFailed(int peer, string reason)
    {
        _unreachable[peer] = reason;
        // Its report goes until it reports again: a leader that died must not be waited for forever.
        if (peer != _myId) _reports.TryRemove(peer, out _);
        // A holder lost mid-tail: this restart cannot complete as decided; the operator starts it again.
        foreach (var (shard, (source, done)) in _tails)
            if (source == peer) done.TrySetException(new TransportException($"member {_myId}: member {peer} failed while sending the log tail of shard {shard.Shard} of {_replicas.NameOf(shard.TypeId)}: {reason}"));
    }

    // MemoryPack reads a missing array as null: every array is checked before use (a peer that lies costs a log line).
    private static bool Valid(RestartHello h) =>
        h.Ids is not null && h.Endpoints is not null && h.LastAdequate is not null && h.TypeIds is not null && h.Shards is not null && h.Versions is not null &&
        h.Ids.Length == h.Endpoints.Length && h.TypeIds.Length == h.Shards.Length && h.Shards.Length == h.Versions.Length && h.Ids.Length <= Sst.SstLayout.MaxMembers;

    private static bool Valid(RestartViewMessage v) =>
        v.Ids is not null && v.Endpoints is not null && v.LastAdequate is not null && v.TypeIds is not null && v.Shards is not null && v.Sources is not null && v.Versions is not null &&
        v.Ids.Length == v.Endpoints.Length && v.Ids.Length is > 0 and <= Sst.SstLayout.MaxMembers && v.TypeIds.Length == v.Shards.Length &&
        v.Shards.Length == v.Sources.Length && v.Sources.Length == v.Versions.Length &&
        v.Holders is not null && v.Holders.Length == v.Sources.Length && v.Holders.All(h => h is not null);

    private static bool Valid(RestartRejoin r) =>
        r.Ids is not null && r.Endpoints is not null && r.Ids.Length == r.Endpoints.Length && r.Ids.Length is > 0 and <= Sst.SstLayout.MaxMembers;

    private (int Id, long Endpoint)[] Configured() =>
        _options.Endpoints.OrderBy(e => e.Key).Select(e => (e.Key, PackedEndpoint.Pack(e.Value))).ToArray();

    /// <summary>Leader: send the restart view to its members and tell everyone else to join it.</summary>
    private void Announce(RestartDecision decision)
    {
        // Endpoints as configured here (the members may have moved since the view was logged).
        long EndpointOf((int Id, long Logged) m) =>
            m.Id == _myId ? PackedEndpoint.Pack(_options.Endpoints[_myId]) : _contacts.TryGetValue(m.Id, out var e) ? PackedEndpoint.Pack(e) : m.Logged;
        var message = new RestartViewMessage(_myId, decision.ViewId, decision.Members.Select(m => m.Id).ToArray(), decision.Members.Select(EndpointOf).ToArray(),
            decision.LastAdequate?.Serialize() ?? [], decision.Sources.Select(s => s.TypeId).ToArray(), decision.Sources.Select(s => s.Shard).ToArray(),
            decision.Sources.Select(s => s.Source).ToArray(), decision.Sources.Select(s => s.Version).ToArray(), decision.Holders);
        _logger.LogInformation("Member {Id} (restart leader) restarts the group as view {View} with members {Members}{Rejoin}; longest logs: {Sources}",
            _myId, decision.ViewId, string.Join(", ", message.Ids), decision.Rejoin.Length == 0 ? "" : $"; member(s) {string.Join(", ", decision.Rejoin)} will rejoin",
            decision.Sources.Length == 0 ? "none" : string.Join(", ", decision.Sources.Select(s => $"shard {s.Shard} of {_replicas.NameOf(s.TypeId)} at member {s.Source} (version {s.Version})")));
        var encoded = RestartMessages.Encode(MessageKind.RestartView, message);
        var rejoin = RestartMessages.Encode(MessageKind.RestartRejoin, new RestartRejoin(decision.ViewId, message.Ids, message.Endpoints,
            $"the group restarted as view {decision.ViewId} without this member (it was not a member of the newest view with its data)"));
        foreach (var id in message.Ids.Where(id => id != _myId)) _answers[id] = encoded;
        foreach (var id in decision.Rejoin) _answers[id] = rejoin;
        foreach (var (id, answer) in _answers) _transport.Send(id, answer);
        _transport.Flush();
        _decided.TrySetResult(message);
    }

    /// <summary>The shards this member held as of its newest view, with the newest version its log has of each.</summary>
    private IEnumerable<(uint TypeId, int Shard, long Version)> ShardsHeldIn(GroupLayout? layout)
    {
        if (layout is null) yield break;
        foreach (var subgroup in layout.Subgroups)
        {
            if (!_replicas.HasReplicatedType(subgroup.TypeId)) continue;
            for (var s = 0; s < subgroup.Shards.Length; s++)
            {
                if (Array.IndexOf(subgroup.Shards[s], _myId) < 0) continue;
                var replica = _replicas.ReplicaFor(subgroup.TypeId, s, subgroup.Shards[s]);
                yield return (subgroup.TypeId, s, replica.Context.Log?.LastVersion ?? -1);
            }
        }
    }

    /// <summary>For every shard this member held whose longest log is elsewhere: fetch the records after ours.</summary>
    private async Task CatchUpAsync(RestartViewMessage view, CancellationToken cancellationToken)
    {
        var fetches = new List<Task>();
        for (var i = 0; i < view.Sources.Length; i++)
        {
            var (typeId, shard, source, version) = (view.TypeIds[i], view.Shards[i], view.Sources[i], view.Versions[i]);
            var held = _mine.Shards.Where(s => s.TypeId == typeId && s.Shard == shard).Select(s => (long?)s.Version).FirstOrDefault();
            if (held is not { } mine) continue;
            if (mine > version)
                throw new InvalidOperationException($"member {_myId}: its log of shard {shard} of {_replicas.NameOf(typeId)} reaches version {mine}, beyond the longest the restart leader found ({version} at member {source})");
            if (mine == version || source == _myId) continue;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _tails[(typeId, shard)] = (source, done);
            _logger.LogInformation("Member {Id}: shard {Shard} of {Type} is at version {Mine}; fetching the records up to {Version} from member {Source}",
                _myId, shard, _replicas.NameOf(typeId), mine, version, source);
            _transport.Send(source, RestartMessages.Encode(MessageKind.LogTailRequest, new LogTailRequest(typeId, shard, mine)));
            fetches.Add(done.Task);
        }
        _transport.Flush();
        await Task.WhenAll(fetches).WaitAsync(cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < view.Sources.Length; i++)
        {
            if (_replicas.TryGetReplica(view.TypeIds[i], view.Shards[i]) is not { Context.Log: { } log } replica) continue;
            log.Flush();
            if (_mine.Shards.Any(s => s.TypeId == view.TypeIds[i] && s.Shard == view.Shards[i]) && log.LastVersion != view.Versions[i])
                throw new InvalidOperationException($"member {_myId}: after fetching its tail, shard {view.Shards[i]} of {_replicas.NameOf(view.TypeIds[i])} is at version {log.LastVersion}, not {view.Versions[i]}");
            _replicas.Reconstruct(replica); // its constructor ran before the tail came; nothing has used it yet
        }
    }

    private void ApplyTail(int peer, LogTailChunk chunk)
    {
        if (!_tails.TryGetValue((chunk.TypeId, chunk.Shard), out var tail) || tail.Source != peer)
        {
            if (_warnings.ShouldLog(peer))
                _logger.LogWarning("Member {Id}: log tail of shard {Shard} of {Type} from member {Peer} dropped: {Expected}", _myId, chunk.Shard, _replicas.NameOf(chunk.TypeId), peer,
                    tail.Done is null ? "this member asked nobody for it" : $"it was asked of member {tail.Source}");
            return;
        }
        if (tail.Done.Task.IsCompleted) return;
        var done = tail.Done;
        if (_replicas.TryGetReplica(chunk.TypeId, chunk.Shard) is not { } replica || replica.Context.Log is null) return;
        try
        {
            if (replica.Context.ApplyTail(new LogTailBatch(chunk.Complete, chunk.Versions, chunk.Ticks, chunk.Payloads)))
                _logger.LogWarning("Member {Id}: member {Peer} no longer has every record after ours for shard {Shard} of {Type} (trimmed); took its whole log instead",
                    _myId, peer, chunk.Shard, _replicas.NameOf(chunk.TypeId));
            if (chunk.Last) done.TrySetResult();
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or ArgumentException or IOException or MemoryPack.MemoryPackSerializationException)
        {
            done.TrySetException(new InvalidDataException($"the log tail of shard {chunk.Shard} of {_replicas.NameOf(chunk.TypeId)} from member {peer} cannot be applied: {e.Message}", e));
        }
    }

    /// <summary>Sends the records of a replica's log after the requested version, in chunks (off the transport thread).</summary>
    public static void Serve(TcpTransport transport, ReplicaStore replicas, ILogger logger, int peer, LogTailRequest request) => Task.Run(() =>
    {
        try
        {
            var log = replicas.TryGetReplica(request.TypeId, request.Shard)?.Context.Log;
            LogTailBatch? previous = null;
            foreach (var batch in LogTail.Read(log, request.After))
            {
                if (previous is not null) Send(previous, last: false);
                previous = batch;
            }
            Send(previous!, last: true);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException)
        {
            logger.LogWarning("Cannot send the log tail of shard {Shard} of {Type} to member {Peer}: {Reason}", request.Shard, replicas.NameOf(request.TypeId), peer, e.Message);
        }

        void Send(LogTailBatch batch, bool last)
        {
            transport.Send(peer, RestartMessages.Encode(MessageKind.LogTail,
                new LogTailChunk(request.TypeId, request.Shard, batch.Complete, last, batch.Versions, batch.Ticks, batch.Payloads)));
            transport.Flush();
        }
    });
}
