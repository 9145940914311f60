using Derecho.Layout;
using Derecho.Membership;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Hosting;

/// <summary>Joining a running group: requests at any member, proposal and commit at the joiner, state transfer.</summary>
public sealed partial class DerechoGroup
{
    /// <summary>
    /// Asks the listed members to be let in, then waits for the leader's proposal (prepare, acknowledge)
    /// and commit (load the replicas' state, install the view). Requests are repeated until admitted.
    /// </summary>
    private async Task JoinRunningGroupAsync(IReadOnlyList<KeyValuePair<int, System.Net.IPEndPoint>> contacts, CancellationToken cancellationToken)
    {
        _joining = true;
        var request = JoinMessages.JoinRequest(MyId, PackedEndpoint.Pack(_options.Endpoints[MyId]));
        var deadline = DateTime.UtcNow + _options.Options.ConnectTimeout;
        while (!_joined.Task.IsCompleted)
        {
            if (DateTime.UtcNow > deadline)
                throw new TransportException($"member {MyId} could not join via {string.Join(", ", contacts.Select(c => $"member {c.Key} ({c.Value})"))} within {_options.Options.ConnectTimeout.TotalSeconds:0.#}s");
            foreach (var (id, endpoint) in contacts)
            {
                _transport.AddPeer(id, endpoint);
                _transport.Send(id, request);
            }
            _transport.Flush();
            await Task.WhenAny(_joined.Task, Task.Delay(TimeSpan.FromSeconds(1), cancellationToken)).ConfigureAwait(false);
        }
        await _joined.Task.ConfigureAwait(false);
    }

    bool IViewChangeHost.JoinerAcknowledged(int id, long proposalId) => _joinAcks.TryGetValue(id, out var acked) && acked == proposalId;

    void IViewChangeHost.ForgetJoiner(int id)
    {
        // Its connection stays: a joiner that was only slow asks again and gets in with a later view change.
        if (_pendingJoins.TryRemove(id, out _))
            _logger.LogInformation("Member {Id} stops forwarding the join request of member {Joiner}: the view change dropped it", MyId, id);
        _joinAcks.TryRemove(id, out _);
    }

    /// <summary>Join traffic: requests at any member, acknowledgements at the leader, proposal and commit at the joiner.</summary>
    private void OnMembershipMessage(int peer, ReadOnlySpan<byte> message)
    {
        var family = MessageKinds.FamilyOf(message[0]);
        if (family == MessageFamily.Restart)
        {
            OnRestartMessage(peer, message);
            return;
        }
        if (family == MessageFamily.StateTransfer)
        {
            OnStateTransferMessage(peer, message);
            return;
        }
        switch ((MessageKind)message[0])
        {
            case MessageKind.JoinRequest when JoinMessages.TryReadPair(message, out var id, out var endpoint) && id == peer:
                if (_engine.JoinRefusal is { } refusal)
                {
                    RefuseJoin(id, endpoint, refusal);
                    break;
                }
                if (_pendingJoins.TryAdd(id, endpoint)) _logger.LogInformation("Member {Id} forwards the join request of member {Joiner} to the group", MyId, id);
                _loop.Wake();
                break;
            case MessageKind.JoinAck when JoinMessages.TryReadPair(message, out var id, out var proposal) && id == peer:
                _joinAcks[id] = proposal;
                _loop.Wake();
                break;
            case MessageKind.ViewProposal when JoinMessages.TryReadViewProposal(message, out var viewId, out var proposal, out var members, out var layout):
                OnViewProposal(peer, viewId, proposal, members, layout);
                break;
            case MessageKind.JoinCommit when JoinMessages.TryReadJoinCommit(message, out var proposal):
                OnJoinCommit(proposal);
                break;
            case MessageKind.JoinRefused when JoinMessages.TryReadJoinRefused(message, out var reason):
                OnJoinRefused(peer, reason);
                break;
            case MessageKind.ShardStateUnavailable when StateTransferMessages.TryReadShardStateUnavailable(message, out var typeId, out var shard, out var viewId, out var why):
                _stateInbox.Enqueue((peer, typeId, shard, viewId, System.Text.Encoding.UTF8.GetString(why)));
                _loop.Wake();
                break;
            default:
                _logger.LogWarning("Malformed membership message (kind {Kind}, {Length} bytes) from member {Peer} ignored", message[0], message.Length, peer);
                break;
        }
    }

    /// <summary>State transfer: requests go to the sender; records and parts to the protocol thread, in order.</summary>
    private void OnStateTransferMessage(int peer, ReadOnlySpan<byte> message)
    {
        switch ((MessageKind)message[0])
        {
            case MessageKind.ShardStateRequest when StateTransferMessages.TryDecode<ShardStateRequest>(message) is { } request:
                _stateSender.OnRequest(peer, request);
                return;
            case MessageKind.ShardStateTail when StateTransferMessages.TryDecode<ShardStateTail>(message) is { } tail
                && tail.Versions.Length == tail.Ticks.Length && tail.Ticks.Length == tail.Payloads.Length:
                _stateInbox.Enqueue((peer, tail.TypeId, tail.Shard, tail.ViewId, tail));
                break;
            case MessageKind.ShardStatePart when StateTransferMessages.TryDecode<ShardStatePart>(message) is { } part:
                _stateInbox.Enqueue((peer, part.TypeId, part.Shard, part.ViewId, part));
                break;
            default:
                _logger.LogWarning("Malformed state transfer message (kind {Kind}, {Length} bytes) from member {Peer} ignored", message[0], message.Length, peer);
                return;
        }
        _loop.Wake();
    }

    /// <summary>
    /// Restart traffic. A log tail is served at any time; a member that reports for a restart while this one
    /// runs (its start complete) is told to join; everything else belongs to this member's own start.
    /// </summary>
    private void OnRestartMessage(int peer, ReadOnlySpan<byte> message)
    {
        if (message[0] == (byte)MessageKind.LogTailRequest)
        {
            if (RestartMessages.TryDecode<LogTailRequest>(message) is { } request) RestartHandshake.Serve(_transport, _engine, _logger, peer, request);
            return;
        }
        // Only once our own start is over: until then a member still reporting may be in the view being started
        // (the leader's decision is on its way to it), and telling it to join would leave that view a member short.
        if (message[0] == (byte)MessageKind.RestartHello && Volatile.Read(ref _current) is { } running && Volatile.Read(ref _restart) is null && _disposed == 0)
        {
            var members = running.View.Members;
            var endpoints = members.Select(id => PackedEndpoint.Pack(id == MyId ? _options.Endpoints[MyId] : _endpoints[id])).ToArray();
            try
            {
                _transport.Send(peer, RestartMessages.Encode(MessageKind.RestartRejoin, new RestartRejoin(running.View.Id, members.ToArray(), endpoints,
                    $"the group is running in view {running.View.Id} ({string.Join(", ", members)})")));
                _transport.Flush();
            }
            catch (InvalidOperationException) { } // not a peer we can answer yet: it says hello again
            return;
        }
        Volatile.Read(ref _restart)?.OnMessage(peer, message);
    }

    /// <summary>
    /// A process asked to join a group whose state we could never give it: refuse, and tell it why over a
    /// connection of its own (it is not a peer). It stops asking once told; until then each request is refused.
    /// </summary>
    private void RefuseJoin(int id, long endpoint, string refusal)
    {
        _logger.LogWarning("Member {Id} refuses the join of member {Joiner}: {Reason}", MyId, id, refusal);
        _transport.SendOnce(id, PackedEndpoint.Unpack(endpoint), JoinMessages.JoinRefused($"member {MyId} refuses it: {refusal}"));
    }

    // Set while this process asks to be let in (told to join, or told to rejoin by a restart): only then is a refusal heeded.
    private volatile bool _joining;

    /// <summary>Joiner: a member we asked will not let us in; JoinAsync fails with its reason.</summary>
    private void OnJoinRefused(int member, string reason)
    {
        if (!_joining || member == MyId || Volatile.Read(ref _current) is not null) return;
        _joined.TrySetException(new InvalidOperationException($"member {MyId} cannot join: {reason}"));
    }

    /// <summary>Joiner: prepare the proposed view (connect to its members, register its memory), then acknowledge.</summary>
    private void OnViewProposal(int leader, long viewId, long proposal, (int Id, long Endpoint)[] members, ReadOnlySpan<byte> lastAdequate)
    {
        lock (_joinGate)
        {
            if (Volatile.Read(ref _current) is not null || _disposed == 1 || members.All(m => m.Id != MyId)) return;
            GroupLayout? before = null;
            if (!lastAdequate.IsEmpty && (before = GroupLayout.TryDeserialize(lastAdequate, _engine.NameOf)) is null)
            {
                _logger.LogWarning("Member {Id}: the view proposal from member {Leader} carries a malformed layout; ignored", MyId, leader);
                return;
            }
            foreach (var (id, packed) in members)
            {
                if (id == MyId) continue;
                _endpoints[id] = PackedEndpoint.Unpack(packed);
                _transport.AddPeer(id, _endpoints[id]);
            }
            var ids = members.Select(m => m.Id).ToArray();
            if (_joinPrepared is null || !_joinPrepared.View.Members.SequenceEqual(ids))
            {
                _joinPrepared?.Dispose();
                _lastAdequate = before;
                var view = new View(viewId, ids);
                _joinPrepared = new ActiveView(view, LayoutFunction.Compute(view, _specs, before), MyId, _transport, _multicastOptions, _handlers, proposal, _loop.Wake);
            }
            _joinPrepared.ProposalId = proposal;
            _transport.Send(leader, JoinMessages.JoinAck(MyId, proposal));
            _transport.Flush();
            _logger.LogInformation("Member {Id} prepared view {View} ({Members}) proposed by member {Leader}", MyId, viewId, string.Join(", ", ids), leader);
        }
    }

    /// <summary>Joiner: the view is committed; make it current (each shard's state comes from an old member of the shard).</summary>
    private void OnJoinCommit(long proposal)
    {
        lock (_joinGate)
        {
            if (Volatile.Read(ref _current) is not null || _joinPrepared is null || _joinPrepared.ProposalId != proposal) return;
            _logger.LogInformation("Member {Id} installs view {View}", MyId, _joinPrepared.View.Id);
            InstallFirst(_joinPrepared);
            _joined.TrySetResult();
        }
    }

    /// <summary>A process asked us to be let in: put its request in our row, where the leader picks it up.</summary>
    private bool PostJoinRequestStep()
    {
        var sst = _current.Sst;
        if (_pendingJoins.IsEmpty || sst.Get(sst.MyRank, sst.Layout.JoinRequestId) != 0) return false;
        foreach (var (id, endpoint) in _pendingJoins)
        {
            if (_current.View.RankOf(id) >= 0) continue; // an old incarnation is still a member: wait for its removal
            sst.Set(sst.Layout.JoinRequestEndpoint, endpoint);
            sst.Set(sst.Layout.JoinRequestId, id + 1);
            return true;
        }
        return false;
    }
}
