using Derecho.Diagnostics;
using Derecho.Layout;
using Derecho.Multicast;
using Derecho.Sst;
using Derecho.Transport;

namespace Derecho.Membership;

/// <summary>One shard of a view that this member belongs to, with its own multicast; <paramref name="Ranks"/> are its members' SST rows.</summary>
internal sealed record ActiveShard(int Global, int Subgroup, int Shard, uint TypeId, int[] Members, int[] Ranks, SmallMessageMulticast Multicast);

/// <summary>
/// Everything that lives exactly as long as one view: its layout, its SST (with every shard's columns) and
/// one multicast per shard this member belongs to, registered with the transport under the view id as
/// epoch. A view is prepared (regions registered) before it is committed, so no member can receive a
/// write for a view it has not set up. An inadequate view runs no multicast at all.
/// </summary>
internal sealed class ActiveView : IDisposable
{
    private readonly List<SmallMessageMulticast> _multicasts = new();
    private readonly List<ActiveShard> _myShards = new();
    private readonly ActiveShard?[] _shards;
    // Every shard of the layout (global number): its members' SST rows, and where its part of a flat trim starts.
    private readonly int[][] _shardRanks;
    private readonly int[] _trimOffsets;

    /// <summary>A view of one shard spanning every member, delivering to <paramref name="handler"/> (raw multicast and tests).</summary>
    public ActiveView(View view, int myId, ITransport transport, MulticastOptions options, IDeliveryHandler handler, long proposalId, Action wake)
        : this(view, new GroupLayout([new SubgroupLayout(0, "multicast", [view.Members.ToArray()])]), myId, transport, options, _ => handler, proposalId, wake)
    {
    }

    public ActiveView(View view, GroupLayout layout, int myId, ITransport transport, MulticastOptions options, Func<ActiveShardKey, IDeliveryHandler> handlers, long proposalId, Action wake)
    {
        View = view;
        Layout = layout;
        Rank = view.RankOf(myId);
        if (Rank < 0) throw new ArgumentException($"member {myId} is not in view {view.Id}", nameof(view));
        ProposalId = proposalId;
        var shards = layout.IsAdequate ? layout.AllShards().ToList() : [];
        _shardRanks = shards.Select(s => s.Members.Select(view.RankOf).ToArray()).ToArray();
        _trimOffsets = new int[shards.Count];
        for (var g = 1; g < shards.Count; g++) _trimOffsets[g] = _trimOffsets[g - 1] + _shardRanks[g - 1].Length;
        Sst = new SharedStateTable(view.Members, Rank, checked((int)view.Id), _shardRanks.Select(r => r.Length).ToArray(), layout.ShardCount);
        Sst.RegisterWith(transport);
        _shards = new ActiveShard?[shards.Count];
        for (var global = 0; global < shards.Count; global++)
        {
            var (subgroup, shard, members) = shards[global];
            if (Array.IndexOf(members, myId) < 0) continue;
            var typeId = layout.Subgroups[subgroup].TypeId;
            var handler = handlers(new ActiveShardKey(view.Id, typeId, shard, members));
            // A queued message must wake the protocol thread, or it waits for the next remote write or idle timeout.
            var tags = new MetricTags(myId, layout.Subgroups[subgroup].Name, shard);
            var multicast = new SmallMessageMulticast(Sst, global, _shardRanks[global], transport, options, handler, tags) { OnQueued = wake };
            _shards[global] = new ActiveShard(global, subgroup, shard, typeId, members, _shardRanks[global], multicast);
            _myShards.Add(_shards[global]!);
            _multicasts.Add(multicast);
        }
        // A member not in a shard never reads the shard's counters before a view change: push them to its members only.
        if (shards.Count > 0) Sst.SendShardColumnsToShardsOnly(_shardRanks);
        Sst.Set(Sst.Layout.ViewId, view.Id);
    }

    public View View { get; }

    /// <summary>Which members hold which shard in this view.</summary>
    public GroupLayout Layout { get; }

    public int Rank { get; }

    /// <summary>The proposal this view was prepared for (0 for the initial view).</summary>
    public long ProposalId { get; set; }

    public SharedStateTable Sst { get; }

    /// <summary>Multicasts of the shards this member belongs to.</summary>
    public IReadOnlyList<SmallMessageMulticast> Multicasts => _multicasts;

    /// <summary>Shard <paramref name="global"/> if this member belongs to it.</summary>
    public ActiveShard? ShardAt(int global) => (uint)global < (uint)_shards.Length ? _shards[global] : null;

    /// <summary>This member's instance of shard <paramref name="shard"/> of <paramref name="typeId"/>, or null.</summary>
    public ActiveShard? Find(uint typeId, int shard)
    {
        foreach (var active in _shards)
            if (active is not null && active.TypeId == typeId && active.Shard == shard) return active;
        return null;
    }

    /// <summary>Number of shards in the layout (0 in an inadequate view).</summary>
    public int ShardCount => _shardRanks.Length;

    /// <summary>SST rows of shard <paramref name="global"/>'s members, in shard order.</summary>
    public int[] ShardRanks(int global) => _shardRanks[global];

    /// <summary>Where shard <paramref name="global"/>'s entries start in a flat ragged trim.</summary>
    public int TrimOffset(int global) => _trimOffsets[global];

    /// <summary>Every shard this member belongs to (a list: the protocol thread walks it each iteration).</summary>
    public IReadOnlyList<ActiveShard> MyShards => _myShards;

    /// <summary>Whether the view change wedged this view's multicasts (an inadequate view counts as wedged once wedged).</summary>
    public bool IsWedged => _wedged;

    private volatile bool _wedged;

    /// <summary>Stops sending and delivering in every shard for a view change; the row goes to everyone from now on.</summary>
    public void Wedge()
    {
        _wedged = true;
        Sst.BroadcastFromNowOn();
        foreach (var multicast in _multicasts) multicast.Wedge();
    }

    /// <summary>Refuses further sends in every shard.</summary>
    public void Stop(string reason)
    {
        foreach (var multicast in _multicasts) multicast.Stop(reason);
    }

    /// <summary>Every shard multicast's predicates, shard after shard.</summary>
    public IEnumerable<(string Name, PredicateLoop.Step Step)> Predicates() => _multicasts.SelectMany(m => m.Predicates());

    public void Dispose()
    {
        foreach (var multicast in _multicasts) multicast.Dispose();
        Sst.Dispose();
    }
}

/// <summary>What a shard's delivery handler is created for: the view, the shard and its members in sender order.</summary>
internal readonly record struct ActiveShardKey(long ViewId, uint TypeId, int Shard, int[] Members);
