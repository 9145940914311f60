using System.Collections.Concurrent;
using System.Diagnostics;
using Derecho.Client;
using Derecho.Errors;
using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Rpc;
using Derecho.Transport;
using Microsoft.Extensions.Logging;

namespace Derecho.Samples.KvStore;

/// <summary>
/// The client process: puts keys into their shards (ordered, every replica of the shard replies), reads them
/// back from single replicas (P2P), then asks every replica of every shard for a digest of its state. A put
/// cut off by a failure ("may or may not have been applied") is retried: puts are idempotent.
/// </summary>
internal static class ClientWorkload
{
    private const int Attempts = 10;

    public static async Task<int> RunAsync(ClientArguments arguments)
    {
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        await using var client = await DerechoClient.ConnectAsync(new DerechoClientOptions
        {
            Contacts = arguments.Contacts.Select(c => new MemberOptions { Id = c.Id, Endpoint = c.Endpoint }).ToList(),
            Tls = arguments.Tls,
        }, loggers);
        var kv = client.Subgroup<KvStore>();
        Console.WriteLine($"CONNECTED client={client.Id} contact={client.Contact} shards={kv.ShardCount} " +
                          string.Join(' ', Enumerable.Range(0, kv.ShardCount).Select(s => $"shard{s}=[{string.Join(',', kv.Shard(s).Members)}]")));

        var acknowledged = new ConcurrentDictionary<string, byte[]>();
        var latencies = Enumerable.Range(0, kv.ShardCount).Select(_ => new ConcurrentBag<double>()).ToArray();
        var retried = 0;
        var failed = 0;
        var inconsistent = 0;
        var clock = Stopwatch.StartNew();
        using (var window = new SemaphoreSlim(arguments.InFlight))
        {
            var running = new List<Task>();
            for (var i = 0; i < arguments.Puts; i++)
            {
                await window.WaitAsync();
                var key = $"key-{i}";
                running.Add(PutAsync(key, ValueOf(i, arguments.ValueBytes)));
            }
            await Task.WhenAll(running);

            async Task PutAsync(string key, byte[] value)
            {
                try
                {
                    var shard = kv.ShardFor(key);
                    for (var attempt = 1; attempt <= Attempts; attempt++)
                    {
                        try
                        {
                            var started = Stopwatch.GetTimestamp();
                            var replies = await shard.Ordered.Put(key, value);
                            latencies[shard.Index].Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                            // Every replica applied it at the same version of the shard.
                            if (replies.Count < 2 || replies.Select(r => r.Value).Distinct().Count() != 1) Interlocked.Increment(ref inconsistent);
                            acknowledged[key] = value;
                            if (acknowledged.Count % arguments.ProgressEvery == 0) Console.WriteLine($"PROGRESS acknowledged={acknowledged.Count} contact={client.Contact}");
                            return;
                        }
                        catch (Exception e) when (e is RemoteCallException or CallTimeoutException or ShardUnavailableException or TransportException && attempt < Attempts)
                        {
                            if (Interlocked.Increment(ref retried) <= 3) Console.WriteLine($"RETRY key={key} attempt={attempt}: {e.Message}");
                            await Task.Delay(200);
                        }
                    }
                }
                catch (Exception e)
                {
                    if (Interlocked.Increment(ref failed) <= 3) Console.WriteLine($"FAILED key={key}: {e.Message}");
                }
                finally
                {
                    window.Release();
                }
            }
        }
        var putSeconds = clock.Elapsed.TotalSeconds;

        // Read every acknowledged key back from one replica of its shard, spreading reads over the replicas.
        clock.Restart();
        var mismatches = 0;
        var reads = acknowledged.Keys.Select(async (key, i) =>
        {
            var shard = kv.ShardFor(key);
            var members = shard.Members;
            var value = await shard.On(members[i % members.Count]).Get(key);
            if (value is null || !value.AsSpan().SequenceEqual(acknowledged[key])) Interlocked.Increment(ref mismatches);
        });
        await Task.WhenAll(reads);
        var getSeconds = clock.Elapsed.TotalSeconds;

        var agree = true;
        for (var s = 0; s < kv.ShardCount; s++)
        {
            var shard = kv.Shard(s);
            var digests = new List<string>();
            foreach (var member in shard.Members)
                digests.Add($"{member}:{await shard.On(member).Digest():X16}/{await shard.On(member).Count()}");
            var sameState = digests.Select(d => d[(d.IndexOf(':') + 1)..]).Distinct().Count() == 1;
            agree &= sameState;
            var sorted = latencies[s].Order().ToArray();
            Console.WriteLine($"SHARD {s} members={string.Join(',', shard.Members)} puts={sorted.Length} " +
                              $"put_p50_us={Percentile(sorted, 0.50):0} put_p99_us={Percentile(sorted, 0.99):0} replicas(digest/keys)=[{string.Join(' ', digests)}] agree={sameState}");
        }
        // The other subgroup: record the per-shard put counts; every Tally replica must answer the same.
        var tally = client.Subgroup<Tally>();
        for (var s = 0; s < kv.ShardCount; s++)
        {
            var replies = await tally.Ordered.Add($"puts-shard-{s}", latencies[s].Count);
            var totals = replies.Select(r => r.Value).Distinct().ToList();
            agree &= totals.Count == 1;
            Console.WriteLine($"TALLY puts-shard-{s}: replicas [{string.Join(',', replies.Select(r => r.MemberId))}] say {string.Join('/', totals)}");
        }
        Console.WriteLine($"RESULT puts={arguments.Puts} acknowledged={acknowledged.Count} retried={retried} failed={failed} inconsistent_replies={inconsistent} " +
                          $"get_mismatches={mismatches} puts_per_s={acknowledged.Count / putSeconds:0} gets_per_s={acknowledged.Count / getSeconds:0} agree={agree}");
        return failed == 0 && inconsistent == 0 && mismatches == 0 && agree && acknowledged.Count == arguments.Puts ? 0 : 1;
    }

    /// <summary>A deterministic value for key i, so anyone can check what was read.</summary>
    public static byte[] ValueOf(int i, int bytes)
    {
        var value = new byte[bytes];
        new Random(i).NextBytes(value);
        return value;
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
}
