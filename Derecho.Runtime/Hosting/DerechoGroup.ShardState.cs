using System.Collections.Concurrent;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Rpc;
using Derecho.Transport;
using Microsoft.Extensions.Logging;

namespace Derecho.Hosting;

/// <summary>
/// State transfer per shard. Every member publishes (a bit per shard in its SST row) which shards' state it
/// holds. When a view begins, a member of a shard that lacks the state (a joiner, a member moved by the
/// layout, or one whose sender failed in an earlier view) receives and acknowledges the shard's messages
/// but delivers nothing until the state arrives; the first surviving old member of the shard that it sees
/// holding the state sends it to every member it sees lacking it. Stale bits can only hide a holder, never
/// invent one, so the true first holder always sends (others may send too: every holder's state is the
/// same at the start of the view); the receiver takes the first from any old member of the shard.
/// </summary>
public sealed partial class DerechoGroup
{
    // A state that arrived, or (Unavailable set) the reason its sender cannot send it.
    private readonly ConcurrentQueue<(int From, uint TypeId, int Shard, long ViewId, byte[] State, string? Unavailable)> _stateInbox = new();
    private readonly List<(int From, uint TypeId, int Shard, long ViewId, byte[] State, string? Unavailable)> _earlyStates = new();
    // Who may send each shard we wait for (its surviving old members): state from anyone else is refused.
    private readonly ConcurrentDictionary<(uint TypeId, int Shard), int[]> _stateSources = new();

    /// <summary>Fault injection for tests: this member withholds the shard states it owes (as if it crashed before sending).</summary>
    internal bool WithholdShardStatesForTest { get; set; }

    /// <summary>
    /// For each shard of <paramref name="view"/>: wait for the state if ours is missing, send it if we are the
    /// first holder we see. <paramref name="old"/> is the view just left (null for a joiner or the first view);
    /// at a <paramref name="restart"/> every returning holder has caught up to its shard's longest log.
    /// </summary>
    private void BeginShardStates(ActiveView view, GroupLayout? before, ActiveView? old, bool restart = false)
    {
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
                var replica = _engine.ReplicaFor(typeId, shard, members);
                if (survivors.Length == 0) replica.HasState = true; // a new shard (or the first view): nothing to get
                else if (!replica.HasState)
                {
                    mine.Multicast.AwaitingState = true;
                    _stateSources[(typeId, shard)] = survivors;
                    _logger.LogInformation("Member {Id} lacks the state of shard {Shard} of {Type}; waiting for it from one of {From}",
                        MyId, shard, _engine.NameOf(typeId), string.Join(", ", survivors));
                }
            }
            else if (_engine.TryGetReplica(typeId, shard) is { } left) left.HasState = false; // it no longer follows the shard

            if ((old is null && !restart) || Array.IndexOf(survivors, MyId) < 0 || _engine.TryGetReplica(typeId, shard) is not { HasState: true } held) continue;
            bool Holds(int id) => id == MyId || (old is null ? Array.IndexOf(survivors, id) >= 0
                : old.View.RankOf(id) is var rank and >= 0 && (old.Sst.Get(rank, old.Sst.Layout.HoldsState(global)) & (1L << (global % 64))) != 0);
            if (survivors.First(Holds) != MyId) continue;
            var recipients = members.Where(id => id != MyId && !(Array.IndexOf(survivors, id) >= 0 && Holds(id))).ToArray();
            if (recipients.Length == 0 || WithholdShardStatesForTest) continue;
            var snapshot = RpcEngine.TrySnapshot(held, out var problem);
            var state = snapshot is null ? MembershipMessages.ShardStateUnavailable(typeId, shard, view.View.Id, problem!)
                : MembershipMessages.ShardState(typeId, shard, view.View.Id, snapshot);
            foreach (var id in recipients) _transport.Send(id, state);
            _transport.Flush();
            if (snapshot is null)
                _logger.LogError("Member {Id} cannot send shard {Shard} of {Type} to member(s) {Recipients}: {Problem}",
                    MyId, shard, held.Name, string.Join(", ", recipients), problem);
            else
                _logger.LogInformation("Member {Id} sent shard {Shard} of {Type} ({Bytes} bytes) to member(s) {Recipients}",
                    MyId, shard, held.Name, state.Length, string.Join(", ", recipients));
        }
        PublishHeldStates(view);
    }

    /// <summary>Sets our row's bits for the shards whose state we hold.</summary>
    private void PublishHeldStates(ActiveView view)
    {
        var global = 0;
        foreach (var (subgroup, shard, _) in view.Layout.AllShards())
        {
            var column = view.Sst.Layout.HoldsState(global);
            var bit = 1L << (global % 64);
            var word = view.Sst.Get(view.Sst.MyRank, column);
            var holds = _engine.TryGetReplica(view.Layout.Subgroups[subgroup].TypeId, shard) is { HasState: true };
            var updated = holds ? word | bit : word & ~bit;
            if (updated != word) view.Sst.Set(column, updated);
            global++;
        }
    }

    /// <summary>A joiner's replicas are ready once every shard it entered has loaded its state: only then does JoinAsync return.</summary>
    private async Task WaitForShardStatesAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + _options.Options.ConnectTimeout;
        while (Volatile.Read(ref _current).MyShards.Any(s => s.Multicast.AwaitingState))
        {
            if (_failed.Task.IsCompleted) throw new InvalidOperationException($"member {MyId} cannot join: {_failed.Task.Result}");
            if (DateTime.UtcNow > deadline)
            {
                await DisposeAsync().ConfigureAwait(false);
                throw new TransportException($"member {MyId} joined view {View.Id} but did not receive its shards' state within {_options.Options.ConnectTimeout.TotalSeconds:0.#}s");
            }
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Loads shard states sent for the current view; keeps those for a view not installed yet.</summary>
    private bool ReceiveStateStep()
    {
        if (_stateInbox.IsEmpty && _earlyStates.Count == 0) return false;
        while (_stateInbox.TryDequeue(out var item)) _earlyStates.Add(item);
        var view = _current;
        var progress = false;
        for (var i = _earlyStates.Count - 1; i >= 0; i--)
        {
            var (from, typeId, shard, viewId, state, unavailable) = _earlyStates[i];
            if (viewId > view.View.Id) continue;
            _earlyStates.RemoveAt(i);
            if (viewId < view.View.Id || view.Find(typeId, shard) is not { Multicast.AwaitingState: true } target) continue;
            if (!_stateSources.TryGetValue((typeId, shard), out var sources) || Array.IndexOf(sources, from) < 0)
            {
                _logger.LogWarning("Member {Id}: state for shard {Shard} of {Type} from member {From} refused; it may come from {Sources}",
                    MyId, shard, _engine.NameOf(typeId), from, sources is null ? "nobody" : string.Join(", ", sources));
                continue;
            }
            if (unavailable is not null)
            {
                Fail($"the state of shard {shard} of {_engine.NameOf(typeId)} cannot be sent by member {from}: {unavailable}");
                return true;
            }
            var replica = _engine.ReplicaFor(typeId, shard, target.Members);
            try
            {
                RpcEngine.Restore(replica, state);
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException or MemoryPack.MemoryPackSerializationException)
            {
                Fail($"the state of shard {shard} of {_engine.NameOf(typeId)} sent by member {from} cannot be loaded: {e.Message}");
                return true;
            }
            replica.HasState = true;
            target.Multicast.AwaitingState = false;
            PublishHeldStates(view);
            progress = true;
            _logger.LogInformation("Member {Id} loaded shard {Shard} of {Type} ({Bytes} bytes) from member {From}", MyId, shard, _engine.NameOf(typeId), state.Length, from);
        }
        return progress;
    }
}
