using System.Buffers.Binary;
using Derecho.Multicast;

namespace Derecho.Tests.Multicast;

/// <summary>The protocol rules of small-message multicast, checked over real loopback sockets in one process.</summary>
public class OrderingTests
{
    private static byte[] Payload(int sender, int thread, int number, int size = 16)
    {
        var bytes = new byte[Math.Max(size, 12)];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, sender);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), thread);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), number);
        for (var i = 12; i < bytes.Length; i++) bytes[i] = (byte)(number + i);
        return bytes;
    }

    private static (int Sender, int Thread, int Number) Parse(byte[] payload) => (
        BinaryPrimitives.ReadInt32LittleEndian(payload), BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(4)),
        BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(8)));

    /// <summary>Every member delivers the same sequence; each sending thread's messages arrive once each, in order.</summary>
    private static void AssertIdenticalTotalOrder(MulticastHarness group, int expected)
    {
        var reference = group.Members[0].Deliveries.ToList();
        Assert.Equal(expected, reference.Count);
        foreach (var member in group.Members.Skip(1))
        {
            var sequence = member.Deliveries.ToList();
            Assert.Equal(reference.Count, sequence.Count);
            for (var i = 0; i < reference.Count; i++)
            {
                Assert.Equal(reference[i].Sequence, sequence[i].Sequence);
                Assert.Equal(reference[i].Payload, sequence[i].Payload);
            }
        }
        foreach (var stream in reference.Select(d => Parse(d.Payload)).GroupBy(p => (p.Sender, p.Thread)))
            Assert.Equal(Enumerable.Range(0, stream.Count()), stream.Select(p => p.Number));
        Assert.True(reference.Zip(reference.Skip(1)).All(p => p.First.Sequence < p.Second.Sequence), "sequence numbers increase");
        foreach (var delivery in reference) Assert.Equal(delivery.Sender, Parse(delivery.Payload).Sender);
    }

    [Fact]
    public async Task Concurrent_senders_get_one_total_order_at_every_member()
    {
        await using var group = await MulticastHarness.StartAsync(3, new MulticastOptions { RingBytes = 256 << 10, MaxPayloadBytes = 4096 });
        group.StartLoops();
        const int perThread = 1500;
        var senders = group.Members.SelectMany(m => Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < perThread; i++) m.Multicast.Send(Payload(m.Sst.MyRank, t, i, 16 + i % 200));
        }))).ToArray();
        await Task.WhenAll(senders);
        await group.WaitForDeliveries(3 * 2 * perThread);
        AssertIdenticalTotalOrder(group, 3 * 2 * perThread);
        Assert.All(group.Members, m => Assert.Null(m.Fault));
    }

    [Fact]
    public async Task Slow_receiver_paces_senders_and_nothing_is_lost()
    {
        // Member 2 sleeps during delivery; the 16 KB rings fill, so senders must wait for it to catch up.
        var delivered = 0;
        await using var group = await MulticastHarness.StartAsync(3, new MulticastOptions { RingBytes = 16 << 10, MaxPayloadBytes = 1024 },
            rank => rank == 2 ? _ => { if (Interlocked.Increment(ref delivered) % 20 == 0) Thread.Sleep(2); } : null);
        group.StartLoops();
        const int perSender = 600;
        await Task.WhenAll(group.Members.Select(m => Task.Run(() =>
        {
            for (var i = 0; i < perSender; i++) m.Multicast.Send(Payload(m.Sst.MyRank, 0, i, 200));
        })));
        await group.WaitForDeliveries(3 * perSender);
        AssertIdenticalTotalOrder(group, 3 * perSender);
        // Stability waited for the slow member: nobody delivered what it had not received.
        Assert.All(group.Members, m => Assert.Equal(3 * perSender, m.Multicast.DeliveredMessages));
    }

    [Fact]
    public async Task Idle_senders_send_nulls_so_the_round_keeps_moving()
    {
        await using var group = await MulticastHarness.StartAsync(3, new MulticastOptions { RingBytes = 64 << 10, MaxPayloadBytes = 1024 });
        group.StartLoops();
        const int messages = 500;
        for (var i = 0; i < messages; i++) group.Members[0].Multicast.Send(Payload(0, 0, i));
        await group.WaitForDeliveries(messages);
        AssertIdenticalTotalOrder(group, messages);
        // Members 1 and 2 never sent data, yet they filled their places in each round.
        Assert.All(group.Members.Skip(1), m => Assert.True(m.Multicast.SentCount > 0, "idle member sent null messages"));
        Assert.All(group.Members, m => Assert.All(m.Deliveries, d => Assert.Equal(0, d.Sender)));
    }

    [Fact]
    public async Task Receiver_acknowledges_a_burst_with_few_counter_updates()
    {
        await using var group = await MulticastHarness.StartAsync(3, new MulticastOptions { RingBytes = 1 << 20, MaxPayloadBytes = 1024 });
        const int perSender = 1000;
        // Queue everything before the protocol threads start: the burst is already there when they look.
        foreach (var member in group.Members)
            for (var i = 0; i < perSender; i++) member.Multicast.Send(Payload(member.Sst.MyRank, 0, i));
        group.StartLoops();
        await group.WaitForDeliveries(3 * perSender);
        AssertIdenticalTotalOrder(group, 3 * perSender);
        foreach (var member in group.Members)
        {
            Assert.True(member.Multicast.DeliveryBatches * 10 < member.Multicast.DeliveredMessages,
                $"{member.Multicast.DeliveredMessages} messages were delivered in {member.Multicast.DeliveryBatches} batches");
            Assert.True(member.Sst.Pushes * 10 < 3 * perSender, $"{member.Sst.Pushes} row pushes acknowledged {3 * perSender} messages");
        }
    }

    [Fact]
    public async Task Variable_sizes_wrap_around_a_small_ring_intact()
    {
        await using var group = await MulticastHarness.StartAsync(2, new MulticastOptions { RingBytes = 8 << 10, MaxPayloadBytes = 2048 });
        group.StartLoops();
        var random = new Random(7);
        var sizes = Enumerable.Range(0, 400).Select(_ => random.Next(12, 2048)).ToArray();
        await Task.WhenAll(group.Members.Select(m => Task.Run(() =>
        {
            for (var i = 0; i < sizes.Length; i++) m.Multicast.Send(Payload(m.Sst.MyRank, 0, i, sizes[i]));
        })));
        await group.WaitForDeliveries(2 * sizes.Length);
        AssertIdenticalTotalOrder(group, 2 * sizes.Length);
        foreach (var delivery in group.Members[1].Deliveries)
        {
            var (_, _, number) = Parse(delivery.Payload);
            Assert.Equal(Payload(delivery.Sender, 0, number, sizes[number]), delivery.Payload);
        }
    }

    [Fact]
    public async Task Oversized_message_is_refused_with_its_size()
    {
        await using var group = await MulticastHarness.StartAsync(2, new MulticastOptions { RingBytes = 8 << 10, MaxPayloadBytes = 1024 });
        var error = Assert.Throws<ArgumentException>(() => group.Members[0].Multicast.Send(new byte[1025]));
        Assert.Contains("1025 bytes exceeds MaxPayloadBytes 1024", error.Message);
    }
}
