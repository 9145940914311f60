using System.Buffers.Binary;
using System.Collections.Concurrent;
using Derecho.Membership;
using Derecho.Multicast;
using Derecho.Sst;
using Derecho.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Derecho.Tests.Membership;

/// <summary>
/// One member of a view whose multicast and view-change predicates a test runs by hand over an
/// <see cref="InMemoryNetwork"/>: one <see cref="Step"/> is one protocol-loop iteration and a push.
/// Records deliveries, the trims it logged and the view it installed.
/// </summary>
internal sealed class SteppedMember : IViewChangeHost, IDeliveryHandler
{
    private static readonly MulticastOptions Options = new() { RingBytes = 64 << 10, MaxPayloadBytes = 256 };

    public SteppedMember(InMemoryNetwork network, int id, int[] members)
    {
        Transport = network.Endpoint(id);
        View = new ActiveView(new View(0, members), id, Transport, Options, this, 0, () => { });
        Protocol = new ViewChangeProtocol(View, this, NullLogger.Instance, TimeSpan.FromHours(1), TimeSpan.FromHours(1), Reports);
        Steps = View.Predicates().Concat(Protocol.Predicates()).Select(p => p.Step).ToArray();
    }

    public int Id => View.View.Members[View.Rank];
    public ActiveView View { get; }
    public ViewChangeProtocol Protocol { get; }
    public PredicateLoop.Step[] Steps { get; }
    public Derecho.Transport.ITransport Transport { get; }
    public ConcurrentQueue<(int, string)> Reports { get; } = new();
    public List<(int Sender, long Index)> Delivered { get; } = new();
    public List<(int Sender, int Number)> Numbers { get; } = new();
    /// <summary>Trims logged, each with the proposal our row echoed at that moment (the log must come first).</summary>
    public List<(long[] Trim, long EchoedThen)> LoggedTrims { get; } = new();
    public long[]? InstalledTrim { get; private set; }
    public View? Installed { get; private set; }
    public bool Dead { get; set; }

    /// <summary>What <see cref="TrimDeliveriesPersisted"/> answers (a test holds the disk back with false).</summary>
    public bool DiskCaughtUp { get; set; } = true;

    public void Step()
    {
        if (Dead) return;
        foreach (var step in Steps) step();
        View.Sst.PushChanges(Transport);
    }

    /// <summary>Sends <paramref name="count"/> messages numbered from <paramref name="first"/>.</summary>
    public void Send(int first, int count)
    {
        var payload = new byte[8];
        for (var i = first; i < first + count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(payload, i);
            View.Multicasts[0].Send(payload);
        }
    }

    public void Deliver(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload)
    {
        Delivered.Add((senderRank, index));
        Numbers.Add((senderRank, BinaryPrimitives.ReadInt32LittleEndian(payload)));
    }

    public ActiveView Prepare(View next, long proposalId, IReadOnlyList<(int Id, long Endpoint)> joiners, ActiveView? previous, bool isLeader) =>
        previous is not null && previous.View.Members.SequenceEqual(next.Members) ? previous
            : new ActiveView(next, Id, Transport, Options, this, proposalId, () => { });

    public bool JoinerAcknowledged(int id, long proposalId) => true;

    public void ForgetJoiner(int id) { }

    public void LogTrim(long viewId, long[] trim) => LoggedTrims.Add((trim.ToArray(), View.Sst.Get(View.Rank, View.Sst.Layout.TrimProposal)));

    public bool TrimDeliveriesPersisted() => DiskCaughtUp;

    public void Install(ActiveView next, long[] trim, IReadOnlyList<(int Id, long Endpoint)> sendStateTo)
    {
        InstalledTrim = trim;
        Installed = next.View;
    }

    public void Fail(string reason) => throw new InvalidOperationException($"member {Id} failed: {reason}");
}
