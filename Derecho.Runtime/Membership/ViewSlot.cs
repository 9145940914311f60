using Derecho.Layout;
using Derecho.Multicast;
using Derecho.Transport;

namespace Derecho.Membership;

/// <summary>
/// The views of this member: the installed one, the one prepared for a change under way, and the one
/// replaced last (its ring memory may still sit in send queues, so it is freed one view change later, or at
/// shutdown after the transport's threads have stopped). It also makes new views: the layout of the last
/// adequate view is the start of the next layout, and its shard members hold the state.
/// </summary>
internal sealed class ViewSlot(int myId, ITransport transport, IReadOnlyList<SubgroupSpec> specs, MulticastOptions multicast,
    Func<ActiveShardKey, IDeliveryHandler> handlers, Action wake) : IDisposable
{
    private ActiveView? _current;
    private ActiveView? _retired;
    private ActiveView? _prepared;
    private ActiveView? _addressing;

    /// <summary>The installed view; null until the first is (a start, a restart or a join).</summary>
    public ActiveView? Current => Volatile.Read(ref _current);

    /// <summary>The installed view, for code that runs only once there is one (the protocol thread, handles).</summary>
    public ActiveView Installed => Volatile.Read(ref _current) ?? throw new InvalidOperationException($"member {myId} is not in a view yet");

    /// <summary>
    /// The view whose layout and members new calls are addressed by. An installation switches it first, before
    /// the calls waiting for replies are moved to the new view, so no call made meanwhile targets a shard member
    /// or a member the new view no longer has (such a call would wait for a reply that never comes).
    /// </summary>
    public ActiveView? Addressing => Volatile.Read(ref _addressing);

    /// <summary>New calls are addressed by <paramref name="next"/> from now on (it is about to be installed).</summary>
    public void AddressBy(ActiveView next) => Volatile.Write(ref _addressing, next);

    /// <summary>The layout of the last adequate view (null before any): new layouts keep its assignments.</summary>
    public GroupLayout? LastAdequate { get; set; }

    /// <summary>Sets up a view (its SST and multicasts registered with the transport) with the layout that follows <paramref name="lastAdequate"/>.</summary>
    public ActiveView Create(View view, long proposalId, GroupLayout? lastAdequate) =>
        new(view, LayoutFunction.Compute(view.Members, specs, lastAdequate), myId, transport, multicast, handlers, proposalId, wake);

    /// <summary>The view a proposal describes: <paramref name="previous"/> when it has the same members, else a new one.</summary>
    public ActiveView Prepare(View next, long proposalId, ActiveView? previous)
    {
        var view = previous;
        if (view is null || !view.View.Members.SequenceEqual(next.Members))
        {
            previous?.Dispose();
            view = Create(next, proposalId, LastAdequate);
        }
        view.ProposalId = proposalId;
        _prepared = view;
        return view;
    }

    /// <summary>The layout of <paramref name="next"/> becomes the last adequate one if it is; returns the one before.</summary>
    public GroupLayout? AdoptLayout(ActiveView next)
    {
        var before = LastAdequate;
        if (next.Layout.IsAdequate) LastAdequate = next.Layout;
        return before;
    }

    /// <summary>Makes <paramref name="next"/> the installed view (once it is on disk: callers may send in it from now on).</summary>
    public void MakeCurrent(ActiveView next)
    {
        _prepared = null;
        Volatile.Write(ref _current, next);
    }

    /// <summary>The view just replaced is freed at the next change (or at shutdown); the one retired before it now.</summary>
    public void Retire(ActiveView old)
    {
        _retired?.Dispose();
        _retired = old;
    }

    /// <summary>Frees every view; call after the protocol thread and the transport have stopped.</summary>
    public void Dispose()
    {
        var current = Volatile.Read(ref _current);
        current?.Dispose();
        _retired?.Dispose();
        if (!ReferenceEquals(_prepared, current)) _prepared?.Dispose(); // nobody prepares another once the protocol thread stopped
    }
}
