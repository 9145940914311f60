using System.Collections.Concurrent;
using Derecho.Diagnostics;
using Derecho.Sst;
using Microsoft.Extensions.Logging;

namespace Derecho.Membership;

/// <summary>
/// The view change of one view, as predicates over its SST (consensus runs only here). In order:
/// suspicion spreads and never heals; a member that lost the majority stops; suspicion wedges the
/// multicast; members follow the lowest-ranked live member as leader; once every live member is wedged
/// and follows it, the leader logs and publishes the ragged trim (min over live rows of what each received
/// from each sender, or the trim a previous leader already published) with its proposal; members log the
/// trim, echo it, prepare the next view and acknowledge; a member delivers exactly up to the trim once
/// every member the proposal keeps has echoed it (or the proposal is committed, which implies that); when
/// every live member (a majority) and every joiner acknowledged, the leader commits; members echo the
/// commit and, once the trim's deliveries are on disk, install the view. With several shards the trim is
/// per shard (min over the shard's live members), published as one flat row of columns, shard after shard.
/// A process that wants in asks any member, which posts the request in its row; a pending join wedges the
/// view like a failure does, and the leader's proposal adds the joiners. A joiner that does not acknowledge
/// within the join timeout is dropped: the leader proposes again without it, naming it as refused, and
/// members stop forwarding its request (a joiner that fails after the commit is removed as a failed member).
/// A new leader that takes over mid-change adopts an echoed trim or commit, so nothing delivered is undone:
/// whoever delivered saw the trim echoed by every member that could lead next.
/// </summary>
internal sealed class ViewChangeProtocol
{
    private readonly ActiveView _view;
    private readonly SharedStateTable _sst;
    private readonly SstLayout _c;
    private readonly IViewChangeHost _host;
    private readonly ILogger _logger;
    private readonly FailureDetector _detector;
    private readonly ConcurrentQueue<(int MemberId, string Reason)> _reports;
    private readonly int _n;
    private readonly int _me;
    private readonly Action<int, string> _suspect;
    private readonly long _joinTimeoutMs;
    // Joiners this view change dropped, and when the leader first proposed each joiner.
    private readonly HashSet<int> _refused = new();
    private readonly Dictionary<int, long> _joinerProposedAt = new();
    // The trim this member delivered (final for the view), and the proposal whose trim it last logged and echoed.
    private long[]? _deliveredTrim;
    private long _echoed;
    private long _echoedRemoved;
    private long[]? _echoedTrim;
    private ActiveView? _prepared;
    private IReadOnlyList<(int Id, long Endpoint)> _preparedJoiners = [];
    private bool _done;
    // When this member wedged the view (0 before): a view change's duration runs from here to the install.
    private long _wedgedAt;
    private readonly KeyValuePair<string, object?> _memberTag;

    public ViewChangeProtocol(ActiveView view, IViewChangeHost host, ILogger logger, TimeSpan failureTimeout, TimeSpan joinTimeout,
        ConcurrentQueue<(int, string)> reports)
    {
        _joinTimeoutMs = (long)joinTimeout.TotalMilliseconds;
        _view = view;
        _sst = view.Sst;
        _c = _sst.Layout;
        _host = host;
        _logger = logger;
        _reports = reports;
        _detector = new FailureDetector(_sst, failureTimeout);
        _n = _sst.Rows;
        _me = _sst.MyRank;
        _suspect = Suspect; // one delegate, not one per loop iteration
        _memberTag = MetricTags.ForMember(view.View.Members[_me]);
    }

    /// <summary>Smallest number of members that is a majority of this view.</summary>
    public int Majority => _n / 2 + 1;

    public IEnumerable<(string Name, PredicateLoop.Step Step)> Predicates()
    {
        yield return ("detect-failures", DetectStep);
        yield return ("spread-suspicion", SpreadStep);
        yield return ("wedge", WedgeStep);
        yield return ("follow-leader", FollowLeaderStep);
        yield return ("propose", ProposeStep);
        yield return ("echo-trim", EchoTrimStep);
        yield return ("deliver-trim", DeliverTrimStep);
        yield return ("commit", CommitStep);
        yield return ("install", InstallStep);
    }

    private bool Suspects(int row, int rank) => _sst.Get(row, _c.Suspected(rank)) != 0;

    private bool Live(int rank) => rank == _me || !Suspects(_me, rank);

    private int Leader()
    {
        for (var r = 0; r < _n; r++)
            if (Live(r)) return r;
        return _me;
    }

    private void Suspect(int rank, string reason)
    {
        if (_done || rank == _me || Suspects(_me, rank)) return;
        _logger.LogWarning("Member {Me} suspects member {Member} in view {View}: {Reason}", _view.View.Members[_me], _view.View.Members[rank], _view.View.Id, reason);
        _sst.Set(_c.Suspected(rank), 1);
        if (DerechoMetrics.Suspicions.Enabled) DerechoMetrics.Suspicions.Add(1, _memberTag);
    }

    /// <summary>Heartbeat timeouts and broken connections become suspicions.</summary>
    private bool DetectStep()
    {
        if (_done) return false;
        var before = SuspectedMask();
        while (_reports.TryDequeue(out var report))
        {
            var rank = _view.View.RankOf(report.MemberId);
            if (rank == _me)
            {
                // Graceful leave: we flag ourselves in our own row; the others remove us without a timeout.
                _logger.LogInformation("Member {Me} asks to leave view {View}", _view.View.Members[_me], _view.View.Id);
                _view.Wedge();
                _sst.Set(_c.Suspected(_me), 1);
            }
            else if (rank >= 0) Suspect(rank, report.Reason);
        }
        _detector.Check(_suspect);
        return SuspectedMask() != before;
    }

    /// <summary>What a live member suspects, we suspect; if that is us, we were excluded; without a majority we stop.</summary>
    private bool SpreadStep()
    {
        if (_done) return false;
        var progress = false;
        for (var r = 0; r < _n; r++)
        {
            if (r == _me || !Live(r)) continue;
            if (Suspects(r, _me))
            {
                Stop($"member {_view.View.Members[r]} suspects this member, so the others are removing it from the group (it may rejoin as a new member)");
                return true;
            }
            for (var j = 0; j < _n; j++)
            {
                if (j != _me && Suspects(r, j) && !Suspects(_me, j))
                {
                    Suspect(j, r == j ? "it is leaving the group" : $"member {_view.View.Members[r]} suspects it");
                    progress = true;
                }
            }
        }
        var live = 0;
        for (var r = 0; r < _n; r++)
            if (Live(r)) live++;
        if (live < Majority)
        {
            Stop($"only {live} of the {_n} members of view {_view.View.Id} are reachable ({string.Join(", ", Enumerable.Range(0, _n).Where(Live).Select(r => _view.View.Members[r]))}), fewer than a majority of {Majority}; this side stops so the group cannot split");
            return true;
        }
        return progress;
    }

    private bool WedgeStep()
    {
        if (_done || _sst.Get(_me, _c.Wedged) != 0 || (SuspectedMask() == 0 && !HasPendingJoiner())) return false;
        _view.Wedge();
        _sst.Set(_c.Wedged, 1);
        _wedgedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        return true;
    }

    private bool FollowLeaderStep()
    {
        if (_done) return false;
        var leader = Leader();
        if (_sst.FollowedLeader(_me) == leader) return false;
        _sst.FollowLeader(leader);
        return true;
    }

    /// <summary>Leader: when every live member is wedged and follows us, publish the ragged trim and the proposal.</summary>
    private bool ProposeStep()
    {
        if (_done || Leader() != _me || _sst.Get(_me, _c.Wedged) == 0) return false;
        var removed = SuspectedMask();
        var joiners = PendingJoiners();
        var current = _sst.Get(_me, _c.ProposalId);
        if (current != 0 && _sst.Get(_me, _c.ProposalRemoved) == removed && _sst.ProposedJoiners(_me).SequenceEqual(joiners)) return false;
        long highest = 0;
        for (var r = 0; r < _n; r++)
        {
            highest = Math.Max(highest, _sst.Get(r, _c.ProposalId));
            if (!Live(r)) continue;
            if (_sst.Get(r, _c.Wedged) == 0 || _sst.FollowedLeader(r) != _me) return false;
            if (_sst.Get(r, _c.Commit) != 0) return false; // a commit is already out: members install it
        }
        var trim = _deliveredTrim ?? RaggedTrim.LatestEchoed(_view, Live) ?? RaggedTrim.Compute(_view, Live);
        var id = ((highest >> 8) + 1) << 8 | (long)(_me + 1);
        LogOnce(trim);
        for (var i = 0; i < trim.Length; i++) _sst.Set(_c.Trim(i), trim[i]);
        _sst.Set(_c.TrimProposal, id);
        _sst.Set(_c.ProposalRemoved, removed);
        var refused = _refused.Order().Take(SstLayout.MaxJoinersPerView).ToList();
        for (var i = 0; i < SstLayout.MaxJoinersPerView; i++)
        {
            _sst.ProposeJoiner(i, i < joiners.Count ? joiners[i] : null);
            _sst.ProposeRefusal(i, i < refused.Count ? refused[i] : null);
        }
        foreach (var (joiner, _) in joiners) _joinerProposedAt.TryAdd(joiner, Environment.TickCount64);
        _sst.Set(_c.ProposalId, id);
        _logger.LogInformation("Member {Me} (leader) proposes view {Next}: removes [{Removed}], adds [{Joiners}]; ragged trim [{Trim}]",
            _view.View.Members[_me], _view.View.Id + 1, string.Join(", ", RankMask.Ranks(removed).Select(r => _view.View.Members[r])),
            string.Join(", ", joiners.Select(j => j.Id)), string.Join(", ", trim));
        return true;
    }

    /// <summary>
    /// Every member: log the leader's trim, then echo it in our row (before acting on it, as in Derecho), prepare
    /// the proposed view and acknowledge. Delivery waits for the others' echoes (<see cref="DeliverTrimStep"/>).
    /// </summary>
    private bool EchoTrimStep()
    {
        if (_done) return false;
        var leader = Leader();
        var proposal = _sst.Get(leader, _c.ProposalId);
        if (proposal == 0 || proposal == _sst.Get(_me, _c.Ack) || _sst.Get(leader, _c.TrimProposal) != proposal) return false;
        var removed = _sst.Get(leader, _c.ProposalRemoved);
        var trim = RaggedTrim.Read(_sst, leader);
        if ((removed & (1L << _me)) != 0)
        {
            Stop($"the leader's proposal for view {_view.View.Id + 1} removes this member");
            return true;
        }
        if (_deliveredTrim is not null && !_deliveredTrim.AsSpan().SequenceEqual(trim))
            throw new InvalidOperationException(
                $"leader published ragged trim [{string.Join(", ", trim)}] after this member delivered [{string.Join(", ", _deliveredTrim)}]");
        _view.Wedge();
        if (leader != _me)
        {
            LogOnce(trim);
            for (var i = 0; i < trim.Length; i++) _sst.Set(_c.Trim(i), trim[i]);
            _sst.Set(_c.TrimProposal, proposal);
        }
        _echoed = proposal;
        _echoedRemoved = removed;
        _echoedTrim = trim;
        for (var i = 0; i < SstLayout.MaxJoinersPerView; i++)
        {
            if (_sst.ProposedRefusal(leader, i) is { } refused) Refuse(refused);
        }

        var joiners = _sst.ProposedJoiners(leader);
        var members = Enumerable.Range(0, _n).Where(r => (removed & (1L << r)) == 0).Select(r => _view.View.Members[r])
            .Concat(joiners.Select(j => j.Id)).ToArray();
        _prepared = _host.Prepare(new View(_view.View.Id + 1, members), proposal, joiners, _prepared, isLeader: leader == _me);
        _prepared.ProposalId = proposal;
        _preparedJoiners = joiners;
        _sst.Set(_c.Ack, proposal);
        return true;
    }

    /// <summary>
    /// Every member, once: deliver up to the echoed trim when every member the proposal keeps has echoed that
    /// proposal (then any of them that leads next adopts this trim), or when it is committed (the leader saw all
    /// their acknowledgements, each pushed after its echo).
    /// </summary>
    private bool DeliverTrimStep()
    {
        if (_done || _deliveredTrim is not null || _echoedTrim is null) return false;
        if (!EveryKeptMemberEchoed() && !Committed(_echoed)) return false;
        foreach (var shard in _view.MyShards)
            shard.Multicast.DeliverUpToTrim(_echoedTrim.AsSpan(_view.TrimOffset(shard.Global), shard.Ranks.Length));
        _deliveredTrim = _echoedTrim;
        return true;
    }

    private bool EveryKeptMemberEchoed()
    {
        for (var r = 0; r < _n; r++)
            if ((_echoedRemoved & (1L << r)) == 0 && _sst.Get(r, _c.TrimProposal) != _echoed) return false;
        return true;
    }

    private bool Committed(long proposal)
    {
        for (var r = 0; r < _n; r++)
            if (_sst.Get(r, _c.Commit) == proposal) return true;
        return false;
    }

    /// <summary>Has the host log a trim before this member publishes or echoes it; the same trim again is not logged twice.</summary>
    private void LogOnce(long[] trim)
    {
        if (_echoedTrim is not null && _echoedTrim.AsSpan().SequenceEqual(trim)) return;
        _host.LogTrim(_view.View.Id, trim);
    }

    /// <summary>Leader: every live member acknowledged our proposal (and they are a majority): commit it.</summary>
    private bool CommitStep()
    {
        if (_done || Leader() != _me) return false;
        var proposal = _sst.Get(_me, _c.ProposalId);
        if (proposal == 0 || _sst.Get(_me, _c.Commit) == proposal) return false;
        for (var r = 0; r < _n; r++)
            if (Live(r) && _sst.Get(r, _c.Ack) != proposal) return false;
        var joiners = _sst.ProposedJoiners(_me);
        if (!EveryJoinerAcknowledged(joiners, proposal)) return DropLateJoiners(joiners, proposal);
        _sst.Set(_c.Commit, proposal);
        return true;
    }

    private bool EveryJoinerAcknowledged(List<(int Id, long Endpoint)> joiners, long proposal)
    {
        foreach (var (joiner, _) in joiners)
            if (!_host.JoinerAcknowledged(joiner, proposal)) return false;
        return true;
    }

    /// <summary>
    /// Leader: refuses every joiner that has not acknowledged within the join timeout of first being proposed (it
    /// failed or cannot be reached); the pending joiners change, so the next iteration proposes without them.
    /// </summary>
    private bool DropLateJoiners(List<(int Id, long Endpoint)> joiners, long proposal)
    {
        var dropped = false;
        foreach (var (joiner, _) in joiners)
        {
            var waited = Environment.TickCount64 - _joinerProposedAt[joiner];
            if (_host.JoinerAcknowledged(joiner, proposal) || waited < _joinTimeoutMs) continue;
            _logger.LogWarning(
                "Member {Me} (leader) drops joiner {Joiner} from view {Next}: no acknowledgement of the proposal within {Timeout} ms; proposing the view without it",
                _view.View.Members[_me], joiner, _view.View.Id + 1, _joinTimeoutMs);
            Refuse(joiner);
            dropped = true;
        }
        return dropped;
    }

    /// <summary>No proposal of this view change adds <paramref name="joiner"/>; our row and the host stop forwarding its request.</summary>
    private void Refuse(int joiner)
    {
        if (!_refused.Add(joiner)) return;
        if (_sst.JoinRequest(_me)?.Id == joiner) _sst.WithdrawJoinRequest();
        _host.ForgetJoiner(joiner);
    }

    /// <summary>
    /// A live row committed the proposal we acknowledged: echo the commit and, once the trim's deliveries are
    /// on disk here, install the prepared view.
    /// </summary>
    private bool InstallStep()
    {
        if (_done || _prepared is null || _deliveredTrim is null || !_host.TrimDeliveriesPersisted()) return false;
        var acked = _sst.Get(_me, _c.Ack);
        for (var r = 0; r < _n; r++)
        {
            if (!Live(r) || _sst.Get(r, _c.Commit) != acked || acked != _prepared.ProposalId) continue;
            var committedHere = _sst.Get(_me, _c.Commit) == acked && Leader() == _me;
            _sst.Set(_c.Commit, acked);
            _done = true;
            var next = _prepared;
            _prepared = null;
            _host.Install(next, _deliveredTrim, committedHere ? _preparedJoiners : []);
            RecordViewChange();
            return true;
        }
        return false;
    }

    private void RecordViewChange()
    {
        if (DerechoMetrics.ViewChanges.Enabled) DerechoMetrics.ViewChanges.Add(1, _memberTag);
        if (_wedgedAt != 0 && DerechoMetrics.ViewChangeDuration.Enabled)
            DerechoMetrics.ViewChangeDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(_wedgedAt).TotalSeconds, _memberTag);
    }

    private void Stop(string reason)
    {
        _done = true;
        _view.Wedge();
        _prepared?.Dispose();
        _prepared = null;
        _host.Fail(reason);
    }

    private long SuspectedMask()
    {
        long mask = 0;
        for (var r = 0; r < _n; r++)
            if (Suspects(_me, r)) mask |= 1L << r;
        return mask;
    }

    /// <summary>Whether any live row asks to let in a process that is not a member (no allocation: runs every iteration).</summary>
    private bool HasPendingJoiner()
    {
        for (var r = 0; r < _n; r++)
        {
            if (_sst.JoinRequest(r) is { } request && Live(r) && _view.View.RankOf(request.Id) < 0 && !_refused.Contains(request.Id)) return true;
        }
        return false;
    }

    /// <summary>Processes that live rows ask to let in and that are not members of this view (at most a proposal's worth).</summary>
    private List<(int Id, long Endpoint)> PendingJoiners()
    {
        var joiners = new List<(int Id, long Endpoint)>();
        for (var r = 0; r < _n && joiners.Count < SstLayout.MaxJoinersPerView; r++)
        {
            if (!Live(r)) continue;
            if (_sst.JoinRequest(r) is not { } request || _view.View.RankOf(request.Id) >= 0 || _refused.Contains(request.Id) || joiners.Any(j => j.Id == request.Id)) continue;
            joiners.Add(request);
        }
        return joiners.OrderBy(j => j.Id).ToList();
    }
}
