using System.Text;
using Derecho.Client;
using Derecho.Membership;
using Derecho.Samples.KvStore;
using Derecho.Tests.Support;

namespace Derecho.Tests.Integration;

/// <summary>
/// An external client whose contact (a real member process of the KvStore sample, 1 shard × 3) is paused with
/// SIGSTOP or killed with SIGKILL while it has puts in flight. Tried: the paused contact stays paused until every
/// put finished (so the client must leave it behind by itself, not wait for the pause to end); the killed one
/// never comes back. Every put must succeed, and every survivor must hold every key with the same digest.
/// </summary>
public sealed class ClientFailoverTests
{
    [Fact]
    public Task A_paused_contact_is_left_behind_and_no_put_fails() => Scenario(pause: true);

    [Fact]
    public Task A_killed_contact_is_left_behind_and_no_put_fails() => Scenario(pause: false);

    private static async Task Scenario(bool pause)
    {
        using var data = new TemporaryDirectory();
        var ports = Ports.Free(3);
        var members = Enumerable.Range(0, 3).Select(id => MemberProcess.StartSample("KvStore", id,
            $"--member --Derecho:MyId={id} --Derecho:DataDirectory={data.Path} --KvStore:Shards=1 --KvStore:Replicas=3 " +
            string.Join(' ', ports.Select((port, i) => $"--Derecho:Members:{i}:Id={i} --Derecho:Members:{i}:Endpoint=127.0.0.1:{port}")))).ToArray();
        try
        {
            foreach (var member in members) await member.WaitForLine("READY member=");
            var options = new DerechoClientOptions
            {
                Contacts = ports.Select((port, id) => new MemberOptions { Id = id, Endpoint = $"127.0.0.1:{port}" }).ToList(),
                RequestTimeout = TimeSpan.FromSeconds(60),
            };
            await using var client = await DerechoClient.ConnectAsync(options);
            var kv = client.Subgroup<KvStore>().Shard(0);
            var contact = client.Contact;
            const int Puts = 2000;
            var completed = 0;
            using var window = new SemaphoreSlim(64);
            var puts = Enumerable.Range(0, Puts).Select(async i =>
            {
                await window.WaitAsync();
                try { await kv.Ordered.Put($"key-{i}", Encoding.UTF8.GetBytes($"value-{i}")); }
                finally { window.Release(); }
                if (Interlocked.Increment(ref completed) == 300)
                {
                    if (pause) members[contact].Signal(stop: true);
                    else members[contact].Kill();
                }
            }).ToList();
            await Task.WhenAll(puts).WaitAsync(TimeSpan.FromMinutes(3)); // while the contact is still paused, or dead
            Assert.NotEqual(contact, client.Contact);

            var survivors = Enumerable.Range(0, 3).Where(id => id != contact).ToArray();
            await Eventually.True(() => client.MemberIds.Count == 2, "the client to learn the view without its old contact");
            var digests = new List<ulong>();
            foreach (var member in survivors)
            {
                Assert.Equal(Puts, await kv.On(member).Count());
                Assert.Equal(Encoding.UTF8.GetBytes("value-1999"), await kv.On(member).Get("key-1999"));
                digests.Add(await kv.On(member).Digest());
            }
            Assert.Single(digests.Distinct());
            if (pause) members[contact].Signal(stop: false);
        }
        finally
        {
            foreach (var member in members) member.Dispose();
        }
    }
}
