using System.Collections.Concurrent;
using Derecho.Internal;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Persistence;
using Derecho.Sst;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Replication;

/// <summary>
/// State transfer per shard. Every member publishes (a bit per shard in its SST row) which shards' state it
/// holds. When a view begins, a member of a shard that lacks the state (a joiner, a member moved by the
/// layout, or one whose sender failed in an earlier view) receives and acknowledges the shard's messages
/// but delivers nothing until the state arrives; the first surviving old member of the shard that it sees
/// holding the state sends it to every member it sees lacking it. Stale bits can only hide a holder, never
/// invent one, so the true first holder always sends (others may send too: every holder's state is the
/// same at the start of the view). The receiver asks every surviving old member and takes the copy of the
/// first one whose records or parts arrive; state transfer traffic from anyone else is dropped on arrival.
/// Every message a sender sends (records, parts, or why it cannot) answers a request, so nothing arrives
/// for a view before the receiver has installed it and knows whom it asked.
/// </summary>
internal sealed class StateTransfer(int myId, ReplicaStore replicas, ViewSlot views, TcpTransport transport, MemberLifetime lifetime, Action wake,
    PeerWarnings warnings, ILogger logger)
{
    private readonly ShardStateSender _sender = new(myId, transport, logger);
    // The restart view's holders of each shard (a restart's first view has no old view to read the bits from).
    private readonly Dictionary<(uint TypeId, int Shard), int[]> _restartHolders = new();

    // State transfer traffic as it arrived: a ShardStateTail, a ShardStatePart, or (a string) why the sender cannot send.
    private readonly ConcurrentQueue<(int From, uint TypeId, int Shard, long ViewId, object Body)> _stateInbox = new();
    // Whom we asked for each shard we wait for (its surviving old members), by view: state from anyone else is dropped.
    private readonly ConcurrentDictionary<(uint TypeId, int Shard), ExpectedStateSender> _expected = new();
    // Transfers under way to us (protocol thread only).
    private readonly Dictionary<(uint TypeId, int Shard), IncomingShardState> _incoming = new();

    /// <summary>Fault injection for tests: this member withholds the shard states it owes (as if it crashed before sending).</summary>
    public bool WithholdForTest { get; set; }

    /// <summary>Fault injection for tests: this member stops sending a shard state after this many parts of it (0: never).</summary>
    public int StallAfterPartsForTest
    {
        get => _sender.StallAfterParts;
        set => _sender.StallAfterParts = value;
    }

    /// <summary>A restart decided which members hold each shard's longest log (this member among them has caught up to it).</summary>
    public void SetRestartHolders(IEnumerable<(uint TypeId, int Shard, int[] Holders)> holders)
    {
        _restartHolders.Clear();
        foreach (var (typeId, shard, ids) in holders)
        {
            _restartHolders[(typeId, shard)] = ids;
            if (Array.IndexOf(ids, myId) >= 0 && replicas.TryGetReplica(typeId, shard) is { } held) held.HasState = true;
        }
    }

    /// <summary>Transport thread: a member new to a shard asks for its state.</summary>
    public void OnRequest(int from, ShardStateRequest request) => _sender.OnRequest(from, request);

    /// <summary>
    /// Transport thread: log records, a part of a snapshot, or (a string) why the sender cannot send; applied in
    /// order by <see cref="ReceiveStep"/> if it comes from the member we take the shard's state from, else dropped.
    /// </summary>
    public void OnArrived(int from, uint typeId, int shard, long viewId, object body)
    {
        var refusal = _expected.TryGetValue((typeId, shard), out var expected)
            ? expected.Refuse(from, viewId, carriesState: body is not string)
            : "this member awaits no state of it";
        if (refusal is not null)
        {
            if (warnings.ShouldLog(from))
                logger.LogWarning("Member {Id}: state for shard {Shard} of {Type} in view {View} from member {From} dropped: {Expected}",
                    myId, shard, replicas.NameOf(typeId), viewId, from, refusal);
            return;
        }
        _stateInbox.Enqueue((from, typeId, shard, viewId, body));
        wake();
    }

    /// <summary>Stops sending (shutdown).</summary>
    public void Stop() => _sender.Stop();

    /// <summary>Whether a shard of this member in <paramref name="view"/> still waits for its state.</summary>
    public static bool IsAwaiting(ActiveView view) => view.MyShards.Any(s => s.Multicast.AwaitingState);

    /// <summary>
    /// For each shard of <paramref name="view"/>: wait for the state if ours is missing, send it if we are the
    /// first holder we see. <paramref name="old"/> is the view just left (null for a joiner or the first view);
    /// at a <paramref name="restart"/> every returning holder has caught up to its shard's longest log.
    /// </summary>
    public void Begin(ActiveView view, GroupLayout? before, ActiveView? old, bool restart = false)
    {
        _sender.ForgetBefore(view.View.Id);
        foreach (var (key, expected) in _expected)
            if (expected.ViewId < view.View.Id) _expected.TryRemove(key, out _);
        var global = -1;
        foreach (var (subgroup, shard, members) in view.Layout.AllShards())
        {
            global++;
            if (!view.Layout.IsAdequate) break; // nothing runs: decide when a view can run
            var typeId = view.Layout.Subgroups[subgroup].TypeId;
            var previous = before?.Find(typeId) is { } s && shard < s.Shards.Length ? s.Shards[shard] : [];
            var survivors = previous.Where(id => view.View.RankOf(id) >= 0).ToArray();
            if (view.Find(typeId, shard) is { } mine)
            {
                var replica = replicas.ReplicaFor(typeId, shard, members);
                if (survivors.Length == 0 && !replica.HasState) replica.StartsTheShard(); // a new shard (or the first view): nothing to get, and its whole history of notifications
                else if (!replica.HasState)
                {
                    mine.Multicast.AwaitingState = true;
                    // Before the requests go out: the answers may arrive before RequestState returns.
                    _expected[(typeId, shard)] = new ExpectedStateSender(view.View.Id, survivors.Where(id => id != myId).ToArray());
                    RequestState(replica, view.View.Id, survivors);
                }
            }
            else if (replicas.TryGetReplica(typeId, shard) is { } left) left.HasState = false; // it no longer follows the shard

            if ((old is null && !restart) || Array.IndexOf(survivors, myId) < 0 || replicas.TryGetReplica(typeId, shard) is not { HasState: true } held) continue;
            bool Holds(int id) => id == myId || (old is null ? _restartHolders.TryGetValue((typeId, shard), out var holders) && Array.IndexOf(holders, id) >= 0
                : old.View.RankOf(id) is var rank and >= 0 && old.Sst.HoldsShardState(rank, global));
            if (survivors.First(Holds) != myId) continue;
            var recipients = members.Where(id => id != myId && !(Array.IndexOf(survivors, id) >= 0 && Holds(id))).ToArray();
            if (recipients.Length == 0 || WithholdForTest) continue;
            // Taken here, between deliveries, so it is the state as the view began; sent from the background.
            var snapshot = ShardSnapshot.TryTake(held, out var problem);
            _sender.Offer(held, view.View.Id, snapshot, problem, held.Context.Log?.LastVersion ?? -1, recipients);
            if (snapshot is not null)
            {
                logger.LogInformation("Member {Id} owes shard {Shard} of {Type} ({Bytes} bytes of state) to member(s) {Recipients}",
                    myId, shard, held.Name, snapshot.Length, string.Join(", ", recipients));
                continue;
            }
            logger.LogError("Member {Id} cannot send shard {Shard} of {Type} to member(s) {Recipients}: {Problem}",
                myId, shard, held.Name, string.Join(", ", recipients), problem);
        }
        PublishHeldStates(view);
    }

    /// <summary>Asks the shard's old members for its state, telling them how far our own log goes.</summary>
    private void RequestState(ShardReplica replica, long viewId, int[] sources)
    {
        var after = replica.Context.Log?.LastVersion ?? -1;
        var request = StateTransferMessages.Encode(MessageKind.ShardStateRequest, new ShardStateRequest(replica.TypeId, replica.Shard, viewId, after));
        foreach (var id in sources)
            if (id != myId) transport.Send(id, request); // we may be an old member that never got the state
        transport.Flush();
        logger.LogInformation("Member {Id} lacks the state of shard {Shard} of {Type} (its log ends at version {After}); asked {From} for it",
            myId, replica.Shard, replica.Name, after, string.Join(", ", sources));
    }

    /// <summary>Sets our row's bits for the shards whose state we hold.</summary>
    private void PublishHeldStates(ActiveView view)
    {
        var global = 0;
        foreach (var (subgroup, shard, _) in view.Layout.AllShards())
        {
            view.Sst.PublishHoldsShardState(global, replicas.TryGetReplica(view.Layout.Subgroups[subgroup].TypeId, shard) is { HasState: true });
            global++;
        }
    }

    /// <summary>
    /// Applies state transfer traffic for the current view in the order it came (log records, then the
    /// snapshot's parts; the last part loads the state). Only what was asked for in a view installed here arrives.
    /// </summary>
    public bool ReceiveStep()
    {
        if (_stateInbox.IsEmpty) return false;
        var view = views.Installed;
        foreach (var key in _incoming.Where(i => i.Value.ViewId < view.View.Id).Select(i => i.Key).ToList()) _incoming.Remove(key);
        var progress = false;
        while (_stateInbox.TryDequeue(out var item))
        {
            if (item.ViewId == view.View.Id && view.Find(item.TypeId, item.Shard) is { Multicast.AwaitingState: true } target)
            {
                progress = true;
                if (!ReceiveState(view, target, item)) return true;
            }
        }
        return progress;
    }

    /// <summary>One state transfer message for a shard we wait for; false if it failed this member.</summary>
    private bool ReceiveState(ActiveView view, ActiveShard target, (int From, uint TypeId, int Shard, long ViewId, object Body) item)
    {
        var (from, typeId, shard, viewId, body) = item;
        if (body is string unavailable)
        {
            lifetime.Fail($"the state of shard {shard} of {replicas.NameOf(typeId)} cannot be sent by member {from}: {unavailable}");
            return false;
        }
        // OnArrived let through one sender's copy only.
        if (!_incoming.TryGetValue((typeId, shard), out var incoming)) _incoming[(typeId, shard)] = incoming = new IncomingShardState(from, viewId);
        var replica = replicas.ReplicaFor(typeId, shard, target.Members);
        try
        {
            if (body is ShardStateTail tail)
            {
                if (replica.Context.ApplyTail(new LogTailBatch(tail.Complete, tail.Versions, tail.Ticks, tail.Payloads)))
                    logger.LogWarning("Member {Id}: member {From} no longer has our newest record of shard {Shard} of {Type} (trimmed); our history is replaced by its whole log",
                        myId, from, shard, replicas.NameOf(typeId));
                incoming.Records += tail.Versions.Length;
                return true;
            }
            if (incoming.Add((ShardStatePart)body) is not { } state) return true;
            replicas.Reconstruct(replica); // over the log tail that came first (it delivered nothing while it waited)
            ShardSnapshot.Restore(replica, state);
            _incoming.Remove((typeId, shard));
            _expected.TryRemove((typeId, shard), out _); // a second sender's copy is dropped on arrival
            replica.HasState = true;
            target.Multicast.AwaitingState = false;
            PublishHeldStates(view);
            logger.LogInformation("Member {Id} loaded shard {Shard} of {Type} from member {From}: {Records} log record(s), then {Bytes} bytes of state",
                myId, shard, replicas.NameOf(typeId), from, incoming.Records, state.Length);
            return true;
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or ArgumentException or IOException or NotSupportedException or MemoryPack.MemoryPackSerializationException)
        {
            lifetime.Fail($"the state of shard {shard} of {replicas.NameOf(typeId)} sent by member {from} cannot be loaded: {e.Message}");
            return false;
        }
    }
}
