using System.Diagnostics;
using Derecho.Hosting;
using Derecho.Layout;
using Derecho.Replication;
using Derecho.Tests.Support;
using Xunit.Abstractions;

namespace Derecho.Tests.Hosting;

/// <summary>
/// A shard state larger than any one message reaches a joiner: the holder snapshots it at the view boundary
/// and sends it in parts from the background; a sender that fails part-way is replaced by another holder,
/// and the joiner drops the parts it had.
/// </summary>
public sealed class LargeStateTransferTests(ITestOutputHelper output)
{
    private static void Blobs(LayoutBuilder l) => l.Subgroup(_ => new Blob());

    private static void Quick(DerechoOptions o) => o.FailureTimeout = TimeSpan.FromSeconds(1);

    private static async Task GrowAsync(DerechoGroup member, int megabytes)
    {
        for (var (done, seed) = (0, 1); done < megabytes; done += 50, seed++) await member.Subgroup<Blob>().Ordered.Grow(Math.Min(50, megabytes - done), seed);
    }

    [Fact]
    public async Task A_state_of_300_MB_reaches_a_joiner_that_then_answers_as_the_others()
    {
        // DERECHO_TRANSFER_MB sizes a one-off measurement (e.g. 1024); the test's own size is 300 MB.
        var megabytes = int.TryParse(Environment.GetEnvironmentVariable("DERECHO_TRANSFER_MB"), out var asked) ? asked : 300;
        var logs = new CapturingLoggerProvider();
        // Every member shares this process: a full collection of its heap of several GB pauses them all at once.
        static void Patient(DerechoOptions o) => o.FailureTimeout = TimeSpan.FromSeconds(10);
        var group = await InProcessGroup.StartAsync(2, logs, Blobs, Patient);
        DerechoGroup? joiner = null;
        try
        {
            await GrowAsync(group.Members[0], megabytes);
            var before = GC.GetTotalMemory(forceFullCollection: true);
            var clock = Stopwatch.StartNew();
            joiner = await group.JoinNewMemberAsync(2, logs, Blobs, Patient);
            var elapsed = clock.Elapsed;
            foreach (var (_, message) in logs.Entries.Where(e => e.Message.Contains("shard 0 of", StringComparison.Ordinal))) output.WriteLine(message);
            var after = GC.GetTotalMemory(forceFullCollection: false);
            output.WriteLine($"{megabytes} MB state: joined in {elapsed.TotalSeconds:0.00}s; managed heap {before >> 20} MB before, {after >> 20} MB after; peak working set {Process.GetCurrentProcess().PeakWorkingSet64 >> 20} MB");

            await Eventually.True(() => group.Members.All(m => m.View.Members.Count == 3), "the others to see member 2");
            var expected = await group.Members[0].Subgroup<Blob>().On(0).Digest();
            Assert.Equal((long)megabytes << 20, expected[0]);
            Assert.Equal(expected, await group.Members[0].Subgroup<Blob>().On(2).Digest());
            await joiner.Subgroup<Blob>().Ordered.Grow(1, 99);
            var grown = await group.Members[1].Subgroup<Blob>().On(1).Digest();
            Assert.Equal(grown, await group.Members[1].Subgroup<Blob>().On(2).Digest());
        }
        finally
        {
            await Task.WhenAll(group.Members.Append(joiner).OfType<DerechoGroup>().Select(m => m.ShutdownAsync()));
        }
    }

    [Fact]
    public async Task When_the_sender_fails_part_way_the_joiner_drops_its_parts_and_gets_the_state_from_another_holder()
    {
        var logs = new CapturingLoggerProvider();
        var group = await InProcessGroup.StartAsync(3, logs, Blobs, Quick);
        DerechoGroup? joiner = null;
        try
        {
            await GrowAsync(group.Members[0], 20); // five parts
            group.Members[0].StallShardStatesAfterPartsForTest = 2; // member 0, the first holder, owes it
            var joining = group.JoinNewMemberAsync(3, logs, Blobs, Quick);
            await Eventually.True(() => logs.Contains(Microsoft.Extensions.Logging.LogLevel.Warning, "Member 0 stalls sending shard 0 of"), "member 0 to send part of the state");
            await Task.Delay(200); // the parts sent arrive
            await group.Members[0].DisposeAsync(); // a crash mid-transfer

            joiner = await joining.WaitAsync(TimeSpan.FromSeconds(60));
            var expected = await group.Members[1].Subgroup<Blob>().On(1).Digest();
            Assert.Equal(20L << 20, expected[0]);
            Assert.Equal(expected, await group.Members[1].Subgroup<Blob>().On(3).Digest());
            Assert.True(logs.Contains(Microsoft.Extensions.Logging.LogLevel.Information, "Member 3 loaded shard 0 of"), "member 3 to load the state");
        }
        finally
        {
            await Task.WhenAll(group.Members.Skip(1).Append(joiner).OfType<DerechoGroup>().Select(m => m.ShutdownAsync()));
        }
    }
}
