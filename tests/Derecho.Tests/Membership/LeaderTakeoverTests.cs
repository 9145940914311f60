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
        public List<(int Sender, int Number)> Numbers { get; } = new();
        public long[]? InstalledTrim { get; private set; }
        public View? Installed { get; private set; }
        public bool Dead { get; set; }

        public void Step()
        {
            if (Dead) return;
            foreach (var step in Steps) step();
            View.Sst.PushChanges(Transport);
        }

        public void Deliver(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload)
        {
            Delivered.Add((senderRank, index));
            Numbers.Add((senderRank, BinaryPrimitives.ReadInt32LittleEndian(payload)));
        }

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

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(18)]
    public void Random_traffic_and_crash_points_leave_survivors_in_agreement(int seed)
    {
        var random = new Random(seed);
        var network = new InMemoryNetwork();
        int[] ids = [0, 1, 2, 3, 4];
        var members = ids.Select(id => new Member(network, id, ids)).ToArray();
        var sent = new int[5];
        var payload = new byte[8];
        var crashRound = random.Next(1, 25);
        var victim = random.Next(5);
        var secondVictim = random.Next(3) == 0 ? (victim + 1 + random.Next(4)) % 5 : -1; // sometimes a second crash
        var secondRound = crashRound + random.Next(0, 4);
        var deliveredAtCrash = new Dictionary<int, List<(int, long)>>();

        for (var round = 0; round < 200; round++)
        {
            foreach (var m in members.Where(m => !m.Dead))
                for (var k = random.Next(0, 4); k > 0; k--)
                {
                    var rank = m.View.Rank;
                    BinaryPrimitives.WriteInt32LittleEndian(payload, sent[rank]);
                    if (m.View.Multicast.SendUnlessWedged(payload)) sent[rank]++;
                }
            foreach (var m in members.OrderBy(_ => random.Next())) m.Step();
            // Random links are slow this round (in order: held writes keep their place).
            var slow = (random.Next(5), random.Next(5));
            network.Deliver((from, to) => (from, to) != slow);
            foreach (var (crash, at) in new[] { (victim, crashRound), (secondVictim, secondRound) })
            {
                if (crash < 0 || round != at) continue;
                network.Cut(crash);
                members[crash].Dead = true;
                foreach (var m in members.Where(m => !m.Dead)) m.Reports.Enqueue((crash, "test: crashed"));
                foreach (var m in members.Where(m => !m.Dead)) deliveredAtCrash[m.View.Rank] = m.Delivered.ToList();
            }
            if (round > secondRound + 2 && members.Where(m => !m.Dead).All(m => m.Installed is not null)) break;
        }

        var survivors = members.Where(m => !m.Dead).ToArray();
        var expected = ids.Where(id => !members[id].Dead).ToArray();
        Assert.All(survivors, m => Assert.Equal(expected, m.Installed?.Members));
        Assert.All(survivors, m => Assert.Equal(survivors[0].InstalledTrim, m.InstalledTrim));
        Assert.All(survivors, m => Assert.Equal(survivors[0].Delivered, m.Delivered));
        // Nothing any survivor had delivered when the first crash happened is missing afterwards.
        foreach (var before in deliveredAtCrash.Values) Assert.Equal(before, survivors[0].Delivered.Take(before.Count));
        // Round-robin order; each sender's data messages in send order, without gaps (null messages are not delivered).
        Assert.Equal(survivors[0].Delivered.OrderBy(d => d.Index).ThenBy(d => d.Sender), survivors[0].Delivered);
        foreach (var sender in ids)
        {
            var numbers = survivors[0].Numbers.Where(d => d.Sender == sender).Select(d => d.Number).ToList();
            Assert.Equal(Enumerable.Range(0, numbers.Count), numbers);
        }
    }
}
