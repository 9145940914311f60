using System.Buffers.Binary;
using Derecho.Multicast;
using Derecho.Tests.Support;

namespace Derecho.Tests.Multicast;

/// <summary>The end of a view: wedge stops delivery; the trim delivers exactly its messages in round-robin order.</summary>
public class RaggedTrimTests
{
    private static byte[] Message(int sender, int index)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, sender);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), index);
        return bytes;
    }

    [Fact]
    public async Task Wedged_member_delivers_nothing_until_the_trim_then_exactly_the_trim_in_order()
    {
        await using var group = await MulticastHarness.StartAsync(2, new MulticastOptions { RingBytes = 64 << 10, MaxPayloadBytes = 1024 });
        for (var i = 0; i < 6; i++) group.Members[0].Multicast.Send(Message(0, i));
        for (var i = 0; i < 4; i++) group.Members[1].Multicast.Send(Message(1, i));
        // Messages travel and are acknowledged, but held back from delivery; then both wedge.
        foreach (var member in group.Members) member.Multicast.AwaitingState = true;
        group.StartLoops();
        var sst = group.Members[0].Sst;
        // Member 1 fills the round with 2 nulls after its 4 messages.
        await Eventually.True(() => group.Members.All(m => Enumerable.Range(0, 2).All(r =>
            m.Sst.Get(r, sst.Layout.Received(0)) == 6 && m.Sst.Get(r, sst.Layout.Received(1)) == 6)), "all messages received and acknowledged");
        foreach (var member in group.Members) member.Multicast.Wedge();
        foreach (var member in group.Members) member.Multicast.AwaitingState = false;
        await Task.Delay(100);
        Assert.Empty(group.Members[0].Deliveries);

        // A trim that keeps 5 of sender 0's messages and 3 of sender 1's: round-robin order with sender 1's tail cut.
        await Task.Run(() => group.Members[0].Multicast.DeliverUpToTrim([5, 3]));
        var order = group.Members[0].Deliveries.Select(d => (BinaryPrimitives.ReadInt32LittleEndian(d.Payload), BinaryPrimitives.ReadInt32LittleEndian(d.Payload.AsSpan(4)))).ToList();
        Assert.Equal([(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2), (0, 3), (0, 4)], order);

        // What the trim cut from a sender is handed back for re-sending in the next view, in order.
        var resend = group.Members[0].Multicast.TakeUndelivered(ownTrim: 5);
        Assert.Equal([Message(0, 5)], resend);
    }

    [Fact]
    public async Task Once_wedged_nothing_more_is_acknowledged_and_unpublished_messages_are_handed_back()
    {
        await using var group = await MulticastHarness.StartAsync(2, new MulticastOptions { RingBytes = 64 << 10, MaxPayloadBytes = 1024 });
        for (var i = 0; i < 3; i++) group.Members[0].Multicast.Send(Message(0, i));
        // Wedged before its protocol thread ever published them: the counters stay final at zero everywhere.
        foreach (var member in group.Members) member.Multicast.Wedge();
        group.StartLoops();
        await Task.Delay(200);
        Assert.All(group.Members, m => Assert.Equal(0, m.Sst.Get(1 - m.Sst.MyRank, m.Sst.Layout.Received(0))));
        Assert.All(group.Members, m => Assert.Equal(0, m.Sst.Get(m.Sst.MyRank, m.Sst.Layout.Received(0))));
        group.Members[0].Multicast.DeliverUpToTrim([0, 0]);
        Assert.Empty(group.Members[0].Deliveries);
        Assert.Equal([Message(0, 0), Message(0, 1), Message(0, 2)], group.Members[0].Multicast.TakeUndelivered(ownTrim: 0));
    }

    [Fact]
    public async Task Trim_beyond_what_arrived_is_refused()
    {
        await using var group = await MulticastHarness.StartAsync(2, new MulticastOptions { RingBytes = 64 << 10, MaxPayloadBytes = 1024 });
        group.Members[0].Multicast.Wedge();
        var error = Assert.Throws<InvalidOperationException>(() => group.Members[0].Multicast.DeliverUpToTrim([0, 3]));
        Assert.Contains("only 0 arrived here", error.Message);
    }
}
