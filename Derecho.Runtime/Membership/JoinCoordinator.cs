using System.Collections.Concurrent;
using System.Net;
using Derecho.Errors;
using Derecho.Internal;
using Derecho.Layout;
using Derecho.Sst;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Membership;

/// <summary>
/// Joining a running group. At any member: a process's request is posted in this member's SST row, where the
/// leader picks it up (or refused, with the reason, if a hosted type cannot transfer its state). At the
/// leader: the proposal goes to the joiners and their acknowledgements come back. At the joiner: it asks,
/// prepares the proposed view, acknowledges, and is done when the leader commits.
/// </summary>
internal sealed class JoinCoordinator(int myId, MemberEndpoints endpoints, ViewSlot views, TcpTransport transport, string? refusal,
    Func<uint, string> nameOf, Action wake, PeerWarnings warnings, ILogger logger)
{
    // Member side: requests forwarded by this member; the leader: joiners' acknowledgements of a proposal.
    private readonly ConcurrentDictionary<int, long> _pendingJoins = new();
    private readonly ConcurrentDictionary<int, long> _joinAcks = new();

    // Joiner side: the view prepared for the leader's proposal, until the commit makes it this member's first.
    private readonly object _gate = new();
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ActiveView? _prepared;
    // Set while this process asks to be let in (told to join, or told to rejoin by a restart): only then is a refusal heeded.
    private Action<ActiveView>? _install;
    private bool _closed;

    /// <summary>
    /// Asks the listed members to be let in, then waits for the leader's proposal (prepare, acknowledge) and
    /// commit. <paramref name="install"/> makes the committed view current, on the thread that read the commit,
    /// before it reads the next message (the leader may already send in the view). Requests are repeated until admitted.
    /// </summary>
    public async Task JoinAsync(IReadOnlyList<KeyValuePair<int, IPEndPoint>> contacts, TimeSpan timeout, Action<ActiveView> install, CancellationToken cancellationToken)
    {
        lock (_gate) _install = install;
        var request = JoinMessages.JoinRequest(myId, PackedEndpoint.Pack(endpoints.Mine));
        var deadline = DateTime.UtcNow + timeout;
        while (!_joined.Task.IsCompleted)
        {
            if (DateTime.UtcNow > deadline)
                throw new TransportException($"member {myId} could not join via {string.Join(", ", contacts.Select(c => $"member {c.Key} ({c.Value})"))} within {timeout.TotalSeconds:0.#}s");
            foreach (var (id, endpoint) in contacts)
            {
                transport.AddPeer(id, endpoint);
                transport.Send(id, request);
            }
            transport.Flush();
            await Task.WhenAny(_joined.Task, Task.Delay(TimeSpan.FromSeconds(1), cancellationToken)).ConfigureAwait(false);
        }
        await _joined.Task.ConfigureAwait(false);
    }

    /// <summary>Join traffic: requests at any member, acknowledgements at the leader, proposal, commit and refusal at the joiner.</summary>
    public void OnMessage(int peer, ReadOnlySpan<byte> message)
    {
        switch ((MessageKind)message[0])
        {
            case MessageKind.JoinRequest when JoinMessages.TryReadPair(message, out var id, out var endpoint) && id == peer:
                if (refusal is not null)
                {
                    Refuse(id, endpoint, refusal);
                    break;
                }
                if (_pendingJoins.TryAdd(id, endpoint)) logger.LogInformation("Member {Id} forwards the join request of member {Joiner} to the group", myId, id);
                wake();
                break;
            case MessageKind.JoinAck when JoinMessages.TryReadPair(message, out var id, out var proposal) && id == peer:
                _joinAcks[id] = proposal;
                wake();
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
            default:
                if (warnings.ShouldLog(peer)) logger.LogWarning("Malformed membership message (kind {Kind}, {Length} bytes) from member {Peer} ignored", message[0], message.Length, peer);
                break;
        }
    }

    /// <summary>Protocol step: a process asked us to be let in; put its request in our row, where the leader picks it up.</summary>
    public bool PostJoinRequestStep()
    {
        var view = views.Installed;
        var sst = view.Sst;
        if (_pendingJoins.IsEmpty || sst.JoinRequest(sst.MyRank) is not null) return false;
        foreach (var (id, endpoint) in _pendingJoins)
        {
            if (view.View.RankOf(id) >= 0) continue; // an old incarnation is still a member: wait for its removal
            sst.PostJoinRequest(id, endpoint);
            return true;
        }
        return false;
    }

    public bool JoinerAcknowledged(int id, long proposalId) => _joinAcks.TryGetValue(id, out var acked) && acked == proposalId;

    /// <summary>
    /// The view change dropped joiner <paramref name="id"/>: stop forwarding its request, and let go of our connection
    /// to it. It may have died after the proposal reached it; its next request may come from a new incarnation (the
    /// same id, the same or another endpoint), which must be dialled anew, or every proposal would go to the dead one.
    /// A joiner that was only slow asks again and is dialled again.
    /// </summary>
    public void ForgetJoiner(int id)
    {
        if (views.Installed.View.RankOf(id) < 0) transport.ResetOutbound(id);
        if (_pendingJoins.TryRemove(id, out _))
            logger.LogInformation("Member {Id} stops forwarding the join request of member {Joiner}: the view change dropped it", myId, id);
        _joinAcks.TryRemove(id, out _);
    }

    /// <summary>Leader: tell the joiners the view they are proposed into (they prepare it and acknowledge).</summary>
    public void Propose(View next, long proposalId, IReadOnlyList<(int Id, long Endpoint)> joiners)
    {
        var proposal = JoinMessages.ViewProposal(next.Id, proposalId, endpoints.Of(next.Members), views.LastAdequate?.Serialize() ?? []);
        foreach (var (id, _) in joiners) transport.Send(id, proposal);
        transport.Flush();
    }

    /// <summary>Committing leader: the joiners install the view (the caller flushes).</summary>
    public void Commit(long proposalId, IReadOnlyList<(int Id, long Endpoint)> joiners)
    {
        if (joiners.Count == 0) return;
        var commit = JoinMessages.JoinCommit(proposalId);
        foreach (var (id, _) in joiners) transport.Send(id, commit);
    }

    /// <summary>A view is installed: its members' requests are done, and so are the acknowledgements of its proposal.</summary>
    public void OnViewInstalled(View view)
    {
        foreach (var id in view.Members) _pendingJoins.TryRemove(id, out _);
        _joinAcks.Clear();
    }

    /// <summary>Shutdown begins: proposals and commits are ignored from now on.</summary>
    public void StopAnswering()
    {
        lock (_gate) _closed = true;
    }

    /// <summary>Shutdown, once the transport stopped: a view prepared for a proposal and never installed is freed.</summary>
    public void Close(ActiveView? installed)
    {
        lock (_gate)
        {
            _closed = true;
            if (!ReferenceEquals(_prepared, installed)) _prepared?.Dispose();
        }
    }

    /// <summary>
    /// A process asked to join a group whose state we could never give it: refuse, and tell it why over a
    /// connection of its own (it is not a peer). It stops asking once told; until then each request is refused.
    /// </summary>
    private void Refuse(int id, long endpoint, string reason)
    {
        logger.LogWarning("Member {Id} refuses the join of member {Joiner}: {Reason}", myId, id, reason);
        transport.SendOnce(id, PackedEndpoint.Unpack(endpoint), JoinMessages.JoinRefused($"member {myId} refuses it: {reason}"));
    }

    /// <summary>Joiner: a member we asked will not let us in; JoinAsync fails with its reason.</summary>
    private void OnJoinRefused(int member, string reason)
    {
        lock (_gate)
            if (_install is null || member == myId || _joined.Task.IsCompleted) return;
        _joined.TrySetException(new JoinRefusedException(myId, reason));
    }

    /// <summary>Joiner: prepare the proposed view (connect to its members, register its memory), then acknowledge.</summary>
    private void OnViewProposal(int leader, long viewId, long proposal, (int Id, long Endpoint)[] members, ReadOnlySpan<byte> lastAdequate)
    {
        lock (_gate)
        {
            if (_joined.Task.IsCompleted || _closed || members.All(m => m.Id != myId)) return;
            GroupLayout? before = null;
            if (!lastAdequate.IsEmpty && (before = GroupLayout.TryDeserialize(lastAdequate, nameOf)) is null)
            {
                if (warnings.ShouldLog(leader)) logger.LogWarning("Member {Id}: the view proposal from member {Leader} carries a malformed layout; ignored", myId, leader);
                return;
            }
            foreach (var (id, packed) in members) endpoints.Learn(id, packed);
            var ids = members.Select(m => m.Id).ToArray();
            if (_prepared is null || !_prepared.View.Members.SequenceEqual(ids))
            {
                _prepared?.Dispose();
                views.LastAdequate = before;
                _prepared = views.Create(new View(viewId, ids), proposal, before);
            }
            _prepared.ProposalId = proposal;
            transport.Send(leader, JoinMessages.JoinAck(myId, proposal));
            transport.Flush();
            logger.LogInformation("Member {Id} prepared view {View} ({Members}) proposed by member {Leader}", myId, viewId, string.Join(", ", ids), leader);
        }
    }

    /// <summary>Joiner: the view is committed; it becomes this member's first here and now (each shard's state comes from an old member of the shard).</summary>
    private void OnJoinCommit(long proposal)
    {
        lock (_gate)
        {
            if (_joined.Task.IsCompleted || _closed || _install is null || _prepared is null || _prepared.ProposalId != proposal) return;
            logger.LogInformation("Member {Id} installs view {View}", myId, _prepared.View.Id);
            _install(_prepared);
            _joined.TrySetResult();
        }
    }
}
