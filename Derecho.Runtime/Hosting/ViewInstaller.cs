using System.Collections.Concurrent;
using Derecho.Client;
using Derecho.Errors;
using Derecho.Membership;
using Derecho.Persistence;
using Derecho.Replication;
using Derecho.Rpc;
using Derecho.Sst;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Hosting;

/// <summary>
/// What a view change does to this member once the protocol (<see cref="ViewChangeProtocol"/>) decided it:
/// prepare the proposed view, and install the committed one: re-send own messages the trim cut off, move the
/// calls to the new shard members, log the view, begin state transfer, and give the protocol thread the new
/// view's steps. It lives in Hosting because an installation touches every floor above the multicast.
/// </summary>
internal sealed class ViewInstaller(
    int myId, DerechoOptions options, ViewSlot views, MemberEndpoints endpoints, TcpTransport transport, PredicateLoop loop,
    ReplicaStore replicas, PendingCalls calls, RpcEngine engine, ReplicaDispatcher dispatcher, StateTransfer states, Durability durability,
    JoinCoordinator joins, ClientGateway clients, LeaveBarrier leave, ViewLog viewLog, MemberLifetime lifetime,
    ConcurrentQueue<(int, string)> failureReports, ILogger logger) : IViewChangeHost
{
    /// <summary>Raised (on the thread pool) after a new view is installed: the view, who joined, who departed.</summary>
    public event Action<View, IReadOnlyList<int>, IReadOnlyList<int>>? ViewChanged;

    /// <summary>Makes the first view of this process current (a start, a restart or a join).</summary>
    public void InstallFirst(ActiveView view, bool restart = false) => MakeCurrent(view, old: null, departed: [], resent: [], restart);

    ActiveView IViewChangeHost.Prepare(View next, long proposalId, IReadOnlyList<(int Id, long Endpoint)> joiners, ActiveView? previous, bool isLeader)
    {
        foreach (var (id, packed) in joiners) endpoints.Learn(id, packed);
        var view = views.Prepare(next, proposalId, previous);
        if (isLeader && joiners.Count > 0) joins.Propose(next, proposalId, joiners);
        return view;
    }

    void IViewChangeHost.Install(ActiveView next, long[] trim, IReadOnlyList<(int Id, long Endpoint)> sendStateTo)
    {
        var old = views.Installed;
        var departed = old.View.Members.Except(next.View.Members).ToArray();
        var joined = next.View.Members.Except(old.View.Members).ToArray();
        joins.Commit(next.ProposalId, sendStateTo);
        // The commit echo must reach the others before we stop pushing the old table.
        old.Sst.PushChanges(transport);
        transport.Flush();

        var resent = ResendTrimmed(old, next, trim);
        MakeCurrent(next, old, departed, resent);
        foreach (var member in departed)
        {
            transport.ForgetPeer(member); // no disconnect report follows: trigger batches to it fail now, not at their timeout
            engine.OnPeerLost(member, $"it left the view (view {next.View.Id})");
        }
        transport.RetireEpochsBefore(checked((int)next.View.Id));
        views.Retire(old);
        joins.OnViewInstalled(next.View);
        clients.PushView();

        logger.LogInformation("Member {Id} installed view {View}: members {Members}; joined {Joined}; departed {Departed}; re-sent {Resent} trimmed message(s)",
            myId, next.View.Id, string.Join(", ", next.View.Members), string.Join(", ", joined), string.Join(", ", departed), resent.Count);
        var handlers = ViewChanged;
        if (handlers is not null) ThreadPool.QueueUserWorkItem(_ => handlers(next.View, joined, departed));
    }

    /// <summary>
    /// What every installation does, the first view's too: new calls are addressed by the view, pending calls
    /// and replicas move to it, it goes on disk before anything is delivered in it, becomes current, begins
    /// state transfer (the old view's trim is delivered and nothing of the new one is: the state new shard
    /// members need) and gives the protocol thread its steps.
    /// </summary>
    private void MakeCurrent(ActiveView next, ActiveView? old, int[] departed, IReadOnlyCollection<long> resent, bool restart = false)
    {
        views.AddressBy(next);
        calls.OnViewInstalled(next.View.Members.ToArray(), next.Layout, departed, resent);
        replicas.OnViewInstalled(next.Layout);
        var before = views.AdoptLayout(next);
        if (!next.Layout.IsAdequate) ReportInadequate(next);
        LogView(next.View);
        views.MakeCurrent(next);
        states.Begin(next, before, old, restart);
        loop.Replace(next.Sst, StepsFor(next));
    }

    void IViewChangeHost.LogTrim(long viewId, long[] trim) => viewLog.AppendTrim(viewId, trim);

    bool IViewChangeHost.TrimDeliveriesPersisted() => durability.TrimDeliveriesPersisted();

    bool IViewChangeHost.JoinerAcknowledged(int id, long proposalId) => joins.JoinerAcknowledged(id, proposalId);

    void IViewChangeHost.ForgetJoiner(int id) => joins.ForgetJoiner(id);

    void IViewChangeHost.Fail(string reason) => lifetime.Fail(reason);

    /// <summary>
    /// Own messages the trim cut off go first into the same shard of the new view; if this member left that
    /// shard, their calls fail (they were not applied anywhere). Returns the request ids re-sent.
    /// </summary>
    private HashSet<long> ResendTrimmed(ActiveView old, ActiveView next, long[] trim)
    {
        var resent = new HashSet<long>();
        foreach (var shard in old.MyShards)
        {
            var undelivered = shard.Multicast.TakeUndelivered(trim[old.TrimOffset(shard.Global) + shard.Multicast.MyIndex]);
            var target = next.Find(shard.TypeId, shard.Shard);
            if (target is null)
            {
                calls.FailUnsent(undelivered.Select(p => RpcHeaders.RequestIdOf(p)), new ViewChangedException(
                    $"the view change to view {next.View.Id} cut this call off and moved member {myId} out of shard {shard.Shard} of {replicas.NameOf(shard.TypeId)}; it was not applied"));
                continue;
            }
            foreach (var payload in undelivered)
            {
                if (!target.Multicast.TrySendNow(payload))
                    throw new InvalidOperationException("a re-sent message does not fit the new view's ring");
                resent.Add(RpcHeaders.RequestIdOf(payload));
            }
        }
        return resent;
    }

    /// <summary>The protocol thread's steps in a view, in order.</summary>
    private IEnumerable<(string Name, PredicateLoop.Step Step)> StepsFor(ActiveView view)
    {
        var protocol = new ViewChangeProtocol(view, this, logger, options.FailureTimeout, options.JoinTimeout, failureReports);
        return view.Predicates().Prepend(("send-queued", engine.SendQueuedStep))
            .Prepend(("receive-state", states.ReceiveStep))
            .Append(("p2p", dispatcher.P2PStep))
            .Append(("durable-replies", dispatcher.DurableRepliesStep))
            .Append(("persisted", durability.PersistedStep))
            .Append(("post-join-request", joins.PostJoinRequestStep))
            .Concat(protocol.Predicates())
            .Append(("leave", () => leave.Step(view)));
    }

    /// <summary>Puts an installed view on disk with its members' endpoints and the layout that says who holds which shard.</summary>
    private void LogView(View view) => viewLog.AppendView(view, endpoints.Of(view.Members), views.LastAdequate);

    /// <summary>Says why a view runs nothing: too few members for the layout; joiners are awaited.</summary>
    private void ReportInadequate(ActiveView view) =>
        logger.LogWarning("Member {Id}: view {View} ({Members}) is inadequate: {Reason}; no shard runs until enough members join",
            myId, view.View.Id, string.Join(", ", view.View.Members), view.Layout.Inadequate);
}
