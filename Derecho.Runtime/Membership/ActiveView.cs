using Derecho.Multicast;
using Derecho.Sst;
using Derecho.Transport;

namespace Derecho.Membership;

/// <summary>
/// Everything that lives exactly as long as one view: its SST and its multicast, registered with the
/// transport under the view id as epoch. A view is prepared (regions registered) before it is committed,
/// so no member can receive a write for a view it has not set up.
/// </summary>
internal sealed class ActiveView : IDisposable
{
    public ActiveView(View view, int myId, ITransport transport, MulticastOptions options, IDeliveryHandler handler, long proposalId, Action wake)
    {
        View = view;
        Rank = view.RankOf(myId);
        if (Rank < 0) throw new ArgumentException($"member {myId} is not in view {view.Id}", nameof(view));
        ProposalId = proposalId;
        Sst = new SharedStateTable(view.Members, Rank, checked((int)view.Id));
        Sst.RegisterWith(transport);
        // A queued message must wake the protocol thread, or it waits for the next remote write or idle timeout.
        Multicast = new SmallMessageMulticast(Sst, transport, view.Members, options, handler) { OnQueued = wake };
        Sst.Set(Sst.Layout.ViewId, view.Id);
    }

    public View View { get; }

    public int Rank { get; }

    /// <summary>The proposal this view was prepared for (0 for the initial view).</summary>
    public long ProposalId { get; set; }

    public SharedStateTable Sst { get; }

    public SmallMessageMulticast Multicast { get; }

    public void Dispose()
    {
        Multicast.Dispose();
        Sst.Dispose();
    }
}
