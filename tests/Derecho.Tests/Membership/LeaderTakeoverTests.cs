using System.Buffers.Binary;
using System.Collections.Concurrent;
using Derecho.Membership;
using Derecho.Multicast;
using Derecho.Sst;
using Derecho.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Derecho.Tests.Membership;

/// <summary>
/// The view-change protocol stepped by hand over a deterministic network: the leader publishes a ragged
/// trim, some members apply it, the leader dies, and the next leader must adopt that trim even though
/// more messages have arrived since (a fresh computation would give a larger one).
/// </summary>
public class LeaderTakeoverTests
{
    private sealed class Member : IViewChangeHost, IDeliveryHandler
    {
        public Member(InMemoryNetwork network, int id, int[] members)
        {
            var transport = network.Endpoint(id);
            View = new ActiveView(new View(0, members), id, transport, new MulticastOptions { RingBytes = 64 << 10, MaxPayloadBytes = 256 }, this, 0, () => { });
            Protocol = new ViewChangeProtocol(View, this, NullLogger.Instance, TimeSpan.FromHours(1), Reports);
            Steps = View.Multicast.Predicates().Concat(Protocol.Predicates()).Select(p => p.Step).ToArray();
            Transport = transport;
        }

        public ActiveView View { get; }
        public ViewChangeProtocol Protocol { get; }
        public PredicateLoop.Step[] Steps { get; }
        public Derecho.Transport.ITransport Transport { get; }
        public ConcurrentQueue<(int, string)> Reports { get; } = new();
        public List<(int Sender, long Index)> Delivered { get; } = new();
        public long[]? InstalledTrim { get; private set; }
        public View? Installed { get; private set; }
        public bool Dead { get; set; }

        public void Step()
        {
            if (Dead) return;
            foreach (var step in Steps) step();
            View.Sst.PushChanges(Transport);
        }

        public void Deliver(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload) => Delivered.Add((senderRank, index));

        public ActiveView Prepare(View next, long proposalId, IReadOnlyList<(int Id, long Endpoint)> joiners, ActiveView? previous, bool isLeader) =>
            previous is not null && previous.View.Members.SequenceEqual(next.Members) ? previous
                : new ActiveView(next, View.View.Members[View.Rank], Transport, new MulticastOptions { RingBytes = 64 << 10, MaxPayloadBytes = 256 }, this, proposalId, () => { });

        public bool JoinersAcknowledged(IReadOnlyList<(int Id, long Endpoint)> joiners, long proposalId) => true;

        public void Install(ActiveView next, long[] trim, IReadOnlyList<(int Id, long Endpoint)> sendStateTo)
        {
            InstalledTrim = trim;
            Installed = next.View;
        }

        public void Fail(string reason) => throw new InvalidOperationException($"member {View.View.Members[View.Rank]} failed: {reason}");
    }

    [Fact]
    public void Next_leader_adopts_the_trim_its_predecessor_published()
    {
        var network = new InMemoryNetwork();
        int[] ids = [0, 1, 2, 3, 4];
        var members = ids.Select(id => new Member(network, id, ids)).ToArray();
        void Round(Func<int, int, bool>? allow = null)
        {
            foreach (var m in members) m.Step();
            network.Deliver(allow);
        }

        // Everyone sends; a few rounds deliver some messages everywhere.
        var payload = new byte[8];
        foreach (var m in members)
            for (var i = 0; i < 20; i++) { BinaryPrimitives.WriteInt32LittleEndian(payload, i); m.View.Multicast.Send(payload); }
        for (var r = 0; r < 3; r++) Round();

        // Member 4 crashes. The link from member 3 to member 1 is held back (in order, like a slow TCP link),
        // so member 1 lags on member 3's messages and the trim is smaller than what will arrive later.
        network.Cut(4);
        members[4].Dead = true;
        foreach (var m in members.Take(4)) m.Reports.Enqueue((4, "test: crashed"));
        bool Hold3(int from, int to) => !(from == 3 && to == 1);
        for (var i = 20; i < 40; i++) { BinaryPrimitives.WriteInt32LittleEndian(payload, i); members[3].View.Multicast.Send(payload); }
        for (var r = 0; r < 30 && members[0].View.Sst.Get(0, members[0].View.Sst.Layout.ProposalId) == 0; r++) Round(Hold3);
        var leaderRow = members[0].View.Sst;
        Assert.NotEqual(0, leaderRow.Get(0, leaderRow.Layout.ProposalId));
        var published = Enumerable.Range(0, 5).Select(j => leaderRow.Get(0, leaderRow.Layout.Trim(j))).ToArray();

        // Member 1 applies and echoes the trim; then the leader dies before committing.
        members[1].Step();
        network.Deliver((from, to) => from == 1 && to != 0);
        Assert.Equal(published, Enumerable.Range(0, 5).Select(j => members[1].View.Sst.Get(1, members[1].View.Sst.Layout.Trim(j))));
        network.Cut(0);
        members[0].Dead = true;
        foreach (var m in members.Skip(1).Take(3)) m.Reports.Enqueue((0, "test: leader crashed"));

        // Now everything held back arrives: a freshly computed trim would be larger for sender 3.
        for (var r = 0; r < 60 && members.Skip(1).Take(3).Any(m => m.Installed is null); r++) Round();
        Round();
        var fresh = Enumerable.Range(0, 5).Select(j => new[] { 1, 2, 3 }.Min(r => members[1].View.Sst.Get(r, members[1].View.Sst.Layout.Received(j)))).ToArray();

        var survivors = members.Skip(1).Take(3).ToArray();
        string State(Member m)
        {
            var sst = m.View.Sst;
            var l = sst.Layout;
            return string.Join(" | ", Enumerable.Range(0, 5).Select(r =>
                $"row{r}: wedged={sst.Get(r, l.Wedged)} follows={sst.Get(r, l.LeaderAck)} trimP={sst.Get(r, l.TrimProposal)} P={sst.Get(r, l.ProposalId)} ack={sst.Get(r, l.Ack)} commit={sst.Get(r, l.Commit)} susp={string.Concat(Enumerable.Range(0, 5).Select(j => sst.Get(r, l.Suspected(j))))}"));
        }
        Assert.All(survivors, m => Assert.True(m.Installed is not null, $"member {m.View.View.Members[m.View.Rank]} did not install: {State(m)}"));
        Assert.All(survivors, m => Assert.Equal([1, 2, 3], m.Installed!.Members));
        Assert.All(survivors, m => Assert.Equal(published, m.InstalledTrim));
        Assert.True(fresh[3] > published[3], $"the scenario must make a fresh trim differ ({fresh[3]} vs {published[3]})");
        Assert.All(survivors, m => Assert.Equal(survivors[0].Delivered, m.Delivered));
        // Everything member 1 delivered under the first trim is what the others delivered too.
        Assert.All(survivors[0].Delivered, d => Assert.True(d.Index < published[d.Sender]));
    }
}
