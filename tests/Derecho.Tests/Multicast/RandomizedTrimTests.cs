using System.Buffers.Binary;
using Derecho.Multicast;
using Derecho.Tests.Support;

namespace Derecho.Tests.Multicast;

/// <summary>
/// Random interleavings: three senders with random message counts and sizes, the view wedged at a random
/// moment, the ragged trim computed as the leader does (min over rows of what each received from each
/// sender). Whatever the interleaving, every member must end with the same sequence: exactly the
/// messages under the trim, in round-robin order, and nothing delivered before the wedge may be dropped.
/// </summary>
public class RandomizedTrimTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Any_interleaving_and_wedge_point_ends_with_identical_sequences(int seed)
    {
        var random = new Random(seed);
        await using var group = await MulticastHarness.StartAsync(3, new MulticastOptions { RingBytes = 32 << 10, MaxPayloadBytes = 2048 });
        group.StartLoops();
        var counts = Enumerable.Range(0, 3).Select(_ => random.Next(50, 400)).ToArray();
        var sizes = Enumerable.Range(0, 3).Select(s => Enumerable.Range(0, counts[s]).Select(_ => random.Next(8, 2048)).ToArray()).ToArray();
        var wedgeAfter = TimeSpan.FromMilliseconds(random.Next(0, 40));

        var senders = group.Members.Select((m, s) => Task.Run(() =>
        {
            for (var i = 0; i < counts[s]; i++)
            {
                var payload = new byte[sizes[s][i]];
                BinaryPrimitives.WriteInt32LittleEndian(payload, s);
                BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(4), i);
                if (!m.Multicast.SendUnlessWedged(payload)) return; // the view ended under this sender
                if (random.Next(10) == 0) Thread.Yield();
            }
        })).ToArray();
        await Task.Delay(wedgeAfter);
        foreach (var member in group.Members) member.Multicast.Wedge();
        await Task.WhenAll(senders);

        // Counters are final once wedged: let every row's last push arrive everywhere, then take the trim the way
        // the leader does (min over rows of what each received from each sender).
        var sst = group.Members[0].Sst;
        await Task.Delay(50);
        await Eventually.True(() => group.Members.All(m => Enumerable.Range(0, 3).All(r => Enumerable.Range(0, 3).All(j =>
            m.Sst.Get(r, m.Sst.Layout.Received(j)) == group.Members[r].Sst.Get(r, m.Sst.Layout.Received(j))))), "every row's final counters to reach every member");
        var trim = Enumerable.Range(0, 3).Select(j => Enumerable.Range(0, 3).Min(r => sst.Get(r, sst.Layout.Received(j)))).ToArray();
        var deliveredBeforeTrim = group.Members.Select(m => m.Deliveries.Count).ToArray();
        foreach (var member in group.Members) await Task.Run(() => member.Multicast.DeliverUpToTrim(trim));

        var sequences = group.Members.Select(m => m.Deliveries.Select(d => (d.Sender, d.Index)).ToList()).ToList();
        Assert.All(sequences, s => Assert.Equal(sequences[0], s));
        // Exactly the data messages under the trim, in round-robin order (index, then sender rank).
        var expected = sequences[0].OrderBy(d => d.Index).ThenBy(d => d.Sender).ToList();
        Assert.Equal(expected, sequences[0]);
        Assert.All(sequences[0], d => Assert.True(d.Index < trim[d.Sender]));
        Assert.All(group.Members, m => Assert.True(m.Deliveries.Count >= deliveredBeforeTrim.Max()));
        // No gaps: each sender's surviving messages are its first ones, every one of them, in order.
        foreach (var sender in Enumerable.Range(0, 3))
        {
            var numbers = group.Members[0].Deliveries.Where(d => d.Sender == sender).Select(d => BinaryPrimitives.ReadInt32LittleEndian(d.Payload.AsSpan(4))).ToList();
            Assert.Equal(Enumerable.Range(0, numbers.Count), numbers);
        }
    }
}
