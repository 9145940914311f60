using System.Text;
using Derecho.Hosting;
using Derecho.Layout;
using Derecho.Samples.KvStore;
using Derecho.Tests.Support;

namespace Derecho.Tests.Samples;

/// <summary>The KvStore sample's semantics in one process: versions, deletes, reads at a version, and a total restart per shard.</summary>
public sealed class KvStoreTests
{
    private static async Task<DerechoGroup[]> StartAsync(int[] ports, string data) =>
        await Task.WhenAll(Enumerable.Range(0, ports.Length).Select(id =>
        {
            var options = InProcessGroup.Options(id, ports);
            options.DataDirectory = data;
            return DerechoGroup.JoinAsync(options, l => l.Subgroup(context => new KvStore(context), ShardPolicy.Fixed(2, 2)));
        }));

    private static async Task<DerechoGroup[]> StartOneShardAsync(int[] ports, string data) =>
        await Task.WhenAll(Enumerable.Range(0, ports.Length).Select(id =>
        {
            var options = InProcessGroup.Options(id, ports);
            options.DataDirectory = data;
            return DerechoGroup.JoinAsync(options, l => l.Subgroup(context => new KvStore(context), ShardPolicy.Fixed(1, 3)));
        }));

    private static async Task PutAll(DerechoGroup member, int from, int to)
    {
        var kv = member.Subgroup<KvStore>().Shard(0);
        for (var i = from; i < to; i++) await kv.Ordered.Put($"key-{i}", Bytes($"value-{i}"));
    }

    /// <summary>Copies a member's replica logs (everything in its data directory but its view log) from one place to another.</summary>
    private static void CopyReplicaLogs(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from).Where(d => Path.GetFileName(d) != "_views"))
        {
            var target = Path.Combine(to, Path.GetFileName(directory));
            if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
            Directory.CreateDirectory(target);
            foreach (var file in Directory.GetFiles(directory)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
    }

    [Fact]
    public async Task A_member_whose_log_was_behind_at_a_total_restart_rebuilds_its_index_from_the_records_it_caught_up_on()
    {
        // As after a crash that caught calls delivered but not yet on disk at member 1: its log has 50 of the
        // shard's 100 puts when everyone restarts. It fetches the other 50 from the longest log; the replica it
        // serves reads from must then be the same as everywhere else (the index KvStore builds in its constructor).
        using var data = new TemporaryDirectory();
        using var behind = new TemporaryDirectory();
        var member1 = Path.Combine(data.Path, "member-1");
        var members = await StartOneShardAsync(Ports.Free(3), data.Path);
        await PutAll(members[0], 0, 50);
        await Task.WhenAll(members.Select(m => m.ShutdownAsync()));
        CopyReplicaLogs(member1, behind.Path);

        members = await StartOneShardAsync(Ports.Free(3), data.Path);
        await PutAll(members[1], 50, 100);
        await Task.WhenAll(members.Select(m => m.ShutdownAsync()));
        CopyReplicaLogs(behind.Path, member1); // member 1 keeps its newest view, but its log ends after 50 puts

        members = await StartOneShardAsync(Ports.Free(3), data.Path);
        try
        {
            var kv = members[0].Subgroup<KvStore>().Shard(0);
            var counts = new List<int>();
            var digests = new List<ulong>();
            foreach (var member in kv.Members)
            {
                counts.Add(await kv.On(member).Count());
                digests.Add(await kv.On(member).Digest());
            }
            Assert.Equal([100, 100, 100], counts);
            Assert.Single(digests.Distinct());
            Assert.Equal(Bytes("value-99"), await kv.On(1).Get("key-99"));

            // Later writes apply on top of the caught-up state at every replica.
            await kv.Ordered.Put("key-100", Bytes("value-100"));
            foreach (var member in kv.Members) Assert.Equal(101, await kv.On(member).Count());
        }
        finally
        {
            await Task.WhenAll(members.Select(m => m.ShutdownAsync()));
        }
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task Puts_deletes_and_reads_at_a_version_survive_a_restart_of_every_member()
    {
        using var data = new TemporaryDirectory();
        var ports = Ports.Free(4);
        var members = await StartAsync(ports, data.Path);
        var kv = members[0].Subgroup<KvStore>();
        var shard = kv.ShardFor("apple");
        var first = (await shard.Ordered.Put("apple", Bytes("red"))).Select(r => r.Value).Distinct().Single();
        var second = (await shard.Ordered.Put("apple", Bytes("green"))).Select(r => r.Value).Distinct().Single();
        Assert.True(second > first);
        foreach (var key in Enumerable.Range(0, 40).Select(i => $"key-{i}")) await kv.ShardFor(key).Ordered.Put(key, Bytes(key));
        Assert.All(await shard.Ordered.Delete("apple"), r => Assert.True(r.Value));
        Assert.All(await shard.Ordered.Delete("apple"), r => Assert.False(r.Value));

        foreach (var member in shard.Members)
        {
            Assert.Null(await shard.On(member).Get("apple"));
            Assert.Equal(Bytes("red"), await shard.On(member).GetAt("apple", first));
            Assert.Equal(Bytes("green"), await shard.On(member).GetAt("apple", second));
        }
        var counts = new List<int>();
        for (var s = 0; s < 2; s++) counts.Add(await kv.Shard(s).On(kv.Shard(s).Members[0]).Count());
        Assert.Equal(40, counts.Sum());
        var digests = new List<ulong>();
        foreach (var member in kv.Shard(1).Members) digests.Add(await kv.Shard(1).On(member).Digest());
        Assert.Single(digests.Distinct());

        // Every member stops; the group starts again from the same directories: each shard recovers its log.
        await Task.WhenAll(members.Select(m => m.ShutdownAsync()));
        members = await StartAsync(Ports.Free(4), data.Path);
        try
        {
            kv = members[2].Subgroup<KvStore>();
            shard = kv.ShardFor("apple");
            Assert.Null(await shard.On(shard.Members[1]).Get("apple"));
            Assert.Equal(Bytes("red"), await shard.On(shard.Members[0]).GetAt("apple", first));
            for (var i = 0; i < 40; i++)
            {
                var key = $"key-{i}";
                var owner = kv.ShardFor(key);
                Assert.Equal(Bytes(key), await owner.On(owner.Members[i % 2]).Get(key));
            }
            var after = new List<ulong>();
            foreach (var member in kv.Shard(1).Members) after.Add(await kv.Shard(1).On(member).Digest());
            Assert.Equal(digests[0], after.Distinct().Single());
        }
        finally
        {
            await Task.WhenAll(members.Select(m => m.ShutdownAsync()));
        }
    }
}
