using System.Text.RegularExpressions;
using Derecho.Client;
using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Samples.KvStore;
using Derecho.Tests.Support;

namespace Derecho.Tests.Integration;

/// <summary>
/// The KvStore sample as real processes: 6 generic-host members laid out as 2 key/value shards x 3 replicas
/// ([0,1,4] and [2,3,5]) plus a Tally subgroup on [0,1,2] (members 0, 1 and 2 hold two subgroups each).
/// </summary>
public sealed partial class ShardedKvTests
{
    private const int Members = 6;

    [Fact]
    public async Task External_client_in_its_own_process_survives_the_crash_of_its_contact()
    {
        var ports = Ports.Free(Members + 1);
        using var data = new TemporaryDirectory();
        var members = StartMembers(ports, data.Path);
        try
        {
            await AllReady(members);
            var contacts = string.Join(',', Enumerable.Range(0, Members).Select(id => $"{id}=127.0.0.1:{ports[id]}"));
            using var client = MemberProcess.StartSample("KvStore", 100, $"--client --contacts {contacts} --puts 6000 --in-flight 64 --progress-every 500");
            await client.WaitForLine("PROGRESS acknowledged=1000");
            // Kill the member relaying the client's calls while puts are in flight.
            var contact = int.Parse(ContactOf().Match(client.LineStartingWith("CONNECTED ") ?? "").Groups[1].Value);
            members[contact].Kill();

            var exit = await client.WaitAsync(TimeSpan.FromMinutes(3));
            var transcript = Transcript(members.Append(client));
            Assert.True(exit == 0, $"client exit {exit}\n{transcript}");
            var result = client.LineStartingWith("RESULT ") ?? "";
            // Every put acknowledged (those cut off by the crash were retried), read back from single replicas,
            // and every surviving replica of each shard holds the same keys and values.
            Assert.Contains("acknowledged=6000", result);
            Assert.Contains("failed=0", result);
            Assert.Contains("get_mismatches=0", result);
            Assert.Contains("agree=True", result);
            Assert.All(members.Where(m => m.Id != contact), m => Assert.Contains(m.Output, l => l.StartsWith("VIEW ", StringComparison.Ordinal) && l.Contains($"departed={contact}")));
            Assert.Equal(2, client.Output.Count(l => l.StartsWith("SHARD ", StringComparison.Ordinal) && l.Contains("agree=True")));
        }
        finally
        {
            foreach (var member in members) member.Dispose();
        }
    }

    [Fact]
    public async Task Shards_progress_independently_and_a_frozen_shard_resumes_without_loss()
    {
        var ports = Ports.Free(Members);
        using var data = new TemporaryDirectory();
        // A long failure timeout: the frozen member must stay a member, so its shard waits for it.
        var members = StartMembers(ports, data.Path, "--Derecho:FailureTimeout=00:01:00");
        try
        {
            await AllReady(members);
            await using var client = await DerechoClient.ConnectAsync(new DerechoClientOptions
            {
                Contacts = Enumerable.Range(0, Members).Select(id => new MemberOptions { Id = id, Endpoint = $"127.0.0.1:{ports[id]}" }).ToList(),
            });
            var kv = client.Subgroup<KvStore>();
            var tally = client.Subgroup<Tally>();
            Assert.Equal([0, 1, 4], kv.Shard(0).Members);
            Assert.Equal([2, 3, 5], kv.Shard(1).Members);
            Assert.Equal([0, 1, 2], tally.Members);

            members[4].Signal(stop: true); // member 4 holds only shard 0
            var stalled = Enumerable.Range(0, 50).Select(i => kv.Shard(0).Ordered.Put($"s0-{i}", [(byte)i])).ToList();
            // Shard 1 and the Tally subgroup (which shares members 0 and 1 with shard 0) keep delivering.
            for (var i = 0; i < 200; i++)
            {
                var replies = await kv.Shard(1).Ordered.Put($"s1-{i}", [(byte)i]).WaitAsync(TimeSpan.FromSeconds(20));
                Assert.Equal([2, 3, 5], replies.Select(r => r.MemberId));
            }
            var total = await tally.Ordered.Add("while-frozen", 200).WaitAsync(TimeSpan.FromSeconds(20));
            Assert.All(total, r => Assert.Equal(200, r.Value));
            Assert.All(stalled, put => Assert.False(put.IsCompleted, "shard 0 cannot deliver without its frozen member"));

            members[4].Signal(stop: false);
            var resumed = await Task.WhenAll(stalled).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.All(resumed, replies => Assert.Equal([0, 1, 4], replies.Select(r => r.MemberId)));
            // Nothing lost: every put is readable at every replica of its shard, and replicas are identical.
            foreach (var member in new[] { 0, 1, 4 })
                for (var i = 0; i < 50; i++) Assert.Equal(new[] { (byte)i }, await kv.Shard(0).On(member).Get($"s0-{i}"));
            foreach (var (shard, ids) in new[] { (0, new[] { 0, 1, 4 }), (1, new[] { 2, 3, 5 }) })
            {
                var digests = new List<ulong>();
                foreach (var id in ids) digests.Add(await kv.Shard(shard).On(id).Digest());
                Assert.Single(digests.Distinct());
            }
            foreach (var member in members) member.Send("shutdown");
            var exits = await Task.WhenAll(members.Select(m => m.WaitAsync(TimeSpan.FromMinutes(1))));
            Assert.True(exits.All(e => e == 0), $"exit codes {string.Join(",", exits)}\n{Transcript(members)}");
        }
        finally
        {
            foreach (var member in members)
            {
                try { member.Signal(stop: false); } catch (InvalidOperationException) { }
                member.Dispose();
            }
        }
    }

    private static List<MemberProcess> StartMembers(int[] ports, string data, string extra = "") =>
        Enumerable.Range(0, Members).Select(id => MemberProcess.StartSample("KvStore", id,
            $"--member --Derecho:MyId={id} --Derecho:DataDirectory={data} {extra} " +
            string.Join(' ', Enumerable.Range(0, Members).Select(i => $"--Derecho:Members:{i}:Id={i} --Derecho:Members:{i}:Endpoint=127.0.0.1:{ports[i]}")))).ToList();

    /// <summary>Waits for every member's READY; if one never comes, every member's output says why.</summary>
    private static async Task AllReady(List<MemberProcess> members)
    {
        try { await Task.WhenAll(members.Select(m => m.WaitForLine("READY"))); }
        catch (TimeoutException e) { throw new TimeoutException($"{e.Message}\nall members:\n{Transcript(members)}", e); }
    }

    private static string Transcript(IEnumerable<MemberProcess> processes) =>
        string.Join('\n', processes.SelectMany(p => p.Output.Select(l => $"[{p.Id}] {l}")));

    [GeneratedRegex(@"contact=(\d+)")]
    private static partial Regex ContactOf();
}
