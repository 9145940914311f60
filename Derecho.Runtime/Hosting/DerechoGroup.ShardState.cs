using System.Collections.Concurrent;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Rpc;
using Derecho.Transport;
using Microsoft.Extensions.Logging;

namespace Derecho.Hosting;

/// <summary>
/// State transfer per shard: when a view puts a member into a shard it was not in (a joiner, or a member
/// moved by the layout), the shard's first surviving old member sends it the shard's state as the new view
/// begins; the newcomer receives and acknowledges the shard's messages meanwhile but delivers nothing until
/// the state is loaded.
/// </summary>
public sealed partial class DerechoGroup
{
    private readonly ConcurrentQueue<(int From, uint TypeId, int Shard, long ViewId, byte[] State)> _stateInbox = new();
    private readonly List<(int From, uint TypeId, int Shard, long ViewId, byte[] State)> _earlyStates = new();
    // Who must send each shard we wait for: state from anyone else is refused (protocol thread only).
    private readonly ConcurrentDictionary<(uint TypeId, int Shard), int> _stateSenders = new();

    /// <summary>For each shard of <paramref name="view"/> with newcomers: send the state we owe, or wait for the state we need.</summary>
    private void BeginShardStates(ActiveView view, GroupLayout? before)
    {
        if (!view.Layout.IsAdequate || before is null) return;
        foreach (var (subgroup, shard, members) in view.Layout.AllShards())
        {
            var typeId = view.Layout.Subgroups[subgroup].TypeId;
            var old = before.Find(typeId) is { } s && shard < s.Shards.Length ? s.Shards[shard] : [];
            var survivors = old.Where(id => view.View.RankOf(id) >= 0).ToArray();
            var newcomers = members.Except(old).ToArray();
            if (survivors.Length == 0 || newcomers.Length == 0) continue; // nothing to hand over, or nobody holds it
            if (survivors[0] == MyId)
            {
                var replica = _engine.ReplicaFor(typeId, shard, members);
                var state = MembershipMessages.ShardState(typeId, shard, view.View.Id, RpcEngine.Snapshot(replica));
                foreach (var id in newcomers) _transport.Send(id, state);
                _transport.Flush();
                _logger.LogInformation("Member {Id} sent shard {Shard} of {Type} ({Bytes} bytes) to new member(s) {Newcomers}",
                    MyId, shard, replica.Name, state.Length, string.Join(", ", newcomers));
            }
            else if (Array.IndexOf(newcomers, MyId) >= 0 && view.Find(typeId, shard) is { } mine)
            {
                mine.Multicast.AwaitingState = true;
                _stateSenders[(typeId, shard)] = survivors[0];
                _logger.LogInformation("Member {Id} is new to shard {Shard} of {Type}; waiting for its state from member {From}", MyId, shard, _engine.NameOf(typeId), survivors[0]);
            }
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
            var (from, typeId, shard, viewId, state) = _earlyStates[i];
            if (viewId > view.View.Id) continue;
            _earlyStates.RemoveAt(i);
            if (viewId < view.View.Id || view.Find(typeId, shard) is not { Multicast.AwaitingState: true } target) continue;
            if (!_stateSenders.TryGetValue((typeId, shard), out var expected) || expected != from)
            {
                _logger.LogWarning("Member {Id}: state for shard {Shard} of {Type} from member {From} refused; it comes from member {Expected}",
                    MyId, shard, _engine.NameOf(typeId), from, expected);
                continue;
            }
            try
            {
                RpcEngine.Restore(_engine.ReplicaFor(typeId, shard, target.Members), state);
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException or MemoryPack.MemoryPackSerializationException)
            {
                Fail($"the state of shard {shard} of {_engine.NameOf(typeId)} sent by member {from} cannot be loaded: {e.Message}");
                return true;
            }
            target.Multicast.AwaitingState = false;
            progress = true;
            _logger.LogInformation("Member {Id} loaded shard {Shard} of {Type} ({Bytes} bytes) from member {From}", MyId, shard, _engine.NameOf(typeId), state.Length, from);
        }
        return progress;
    }
}
