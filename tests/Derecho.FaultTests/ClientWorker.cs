using System.Diagnostics;
using Derecho.Client;
using Derecho.Errors;
using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Rpc;
using Derecho.Transport;
using Microsoft.Extensions.Logging;

namespace Derecho.FaultTests;

/// <summary>
/// Client workload mode: <c>--client ID --contacts 0=127.0.0.1:P,… --keys K --threads T --out FILE [--reads ordered|p2p]
/// [--seed S] [--request-timeout-ms N] [--listen ADDRESS]</c>. T logical processes share one <see cref="DerechoClient"/>; each loops
/// over random put/read operations on K keys (values unique: client-thread-sequence) until "stop" arrives on
/// standard input, then the history is written to FILE and a <c>RESULT</c> line printed. Each operation is bounded:
/// <c>RequestTimeout</c> on the client, and a hard bound of RequestTimeout + 5 s around it, past which it counts as a
/// hang (and as unknown in the history).
/// </summary>
internal static class ClientWorker
{
    public static async Task<int> RunAsync(string[] args)
    {
        var id = int.Parse(Member.Arg(args, "--client")!);
        var contacts = Member.Arg(args, "--contacts")!.Split(',').Select(c => c.Split('=')).Select(c => new MemberOptions { Id = int.Parse(c[0]), Endpoint = c[1] }).ToList();
        var keys = int.Parse(Member.Arg(args, "--keys") ?? "5");
        var threads = int.Parse(Member.Arg(args, "--threads") ?? "3");
        var output = Member.Arg(args, "--out")!;
        var p2pReads = Member.Arg(args, "--reads") == "p2p";
        var seed = int.Parse(Member.Arg(args, "--seed") ?? id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var requestTimeout = TimeSpan.FromMilliseconds(int.Parse(Member.Arg(args, "--request-timeout-ms") ?? "10000"));
        var listen = Member.Arg(args, "--listen") ?? "127.0.0.1";
        var hardBound = requestTimeout + TimeSpan.FromSeconds(5);
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Error));

        DerechoClient? client = null;
        for (var attempt = 0; client is null; attempt++)
        {
            try
            {
                client = await DerechoClient.ConnectAsync(new DerechoClientOptions
                {
                    Contacts = contacts.Skip(id % contacts.Count).Concat(contacts.Take(id % contacts.Count)).ToList(),
                    RingBytes = 1 << 20,
                    MaxPayloadBytes = 64 << 10,
                    RequestTimeout = requestTimeout,
                    ConnectTimeout = TimeSpan.FromSeconds(10),
                    ListenEndpoint = $"{listen}:0",
                    AllowInsecure = listen != "127.0.0.1",
                }, loggers);
            }
            catch (TransportException) when (attempt < 5) { }
        }
        await using var _ = client;
        var register = client.Subgroup<FaultRegister>();
        Console.WriteLine($"CONNECTED client={id} contact={client.Contact}");
        Console.WriteLine($"CONTACT {client.Contact}");

        using var stop = new CancellationTokenSource();
        var stopped = Task.Run(() =>
        {
            while (Console.In.ReadLine() is { } line && line != "stop") { }
            stop.Cancel();
        });
        var history = new List<Op>[threads];
        var hangs = 0;
        var divergent = 0;
        var contact = client.Contact;
        var watch = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (client.Contact != contact) Console.WriteLine($"CONTACT {contact = client.Contact}");
                try { await Task.Delay(50, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var workers = Enumerable.Range(0, threads).Select(t => Task.Run(async () =>
        {
            var ops = history[t] = new List<Op>();
            var random = new Random(seed * 1000 + t);
            var process = id * 100 + t;
            for (var seq = 0; !stop.IsCancellationRequested; seq++)
            {
                var key = $"k{random.Next(keys)}";
                var put = random.Next(2) == 0;
                var value = put ? $"c{id}-{t}-{seq}" : null;
                var members = register.Members;
                var target = put || !p2pReads ? client.Contact : members[random.Next(members.Count)];
                var invoke = Stopwatch.GetTimestamp();
                Task<string?> call = put
                    ? PutAsync(register, key, value!)
                    : p2pReads ? register.On(target).Get(key) : ReadAsync(register, key, () => Interlocked.Increment(ref divergent));
                Op op;
                try
                {
                    var result = await call.WaitAsync(hardBound);
                    op = new Op(process, put ? Op.Put : Op.Read, key, put ? value : result, invoke, Stopwatch.GetTimestamp(), Outcome.Ok, Member: target);
                }
                catch (TimeoutException)
                {
                    Interlocked.Increment(ref hangs);
                    op = new Op(process, put ? Op.Put : Op.Read, key, value, invoke, Stopwatch.GetTimestamp(), Outcome.Unknown, $"HANG: no answer within {hardBound.TotalSeconds}s", target);
                }
                catch (Exception e)
                {
                    op = new Op(process, put ? Op.Put : Op.Read, key, value, invoke, Stopwatch.GetTimestamp(), Classify(e), $"{e.GetType().Name}: {e.Message}", target);
                }
                ops.Add(op);
                if (op.Outcome != Outcome.Ok)
                {
                    try { await Task.Delay(50, stop.Token); } catch (OperationCanceledException) { }
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        await watch;
        var all = history.SelectMany(h => h).OrderBy(o => o.Invoke).ToList();
        HistoryFile.Write(output, all);
        Console.WriteLine($"RESULT client={id} ops={all.Count} ok={all.Count(o => o.Outcome == Outcome.Ok)} fail={all.Count(o => o.Outcome == Outcome.Fail)} " +
                          $"unknown={all.Count(o => o.Outcome == Outcome.Unknown)} hangs={hangs} divergent={divergent}");
        GC.KeepAlive(stopped);
        return 0;
    }

    private static async Task<string?> PutAsync(SubgroupHandle<FaultRegister> register, string key, string value)
    {
        await register.Ordered.Put(key, value);
        return value;
    }

    private static async Task<string?> ReadAsync(SubgroupHandle<FaultRegister> register, string key, Action onDivergence)
    {
        var replies = await register.Ordered.Read(key);
        var values = replies.Select(r => r.Value).Distinct().ToList();
        if (values.Count != 1)
        {
            onDivergence();
            Console.WriteLine($"DIVERGENT read({key}): {string.Join(", ", replies.Select(r => $"{r.MemberId}={r.Value ?? "null"}"))}");
        }
        return values[0];
    }

    /// <summary>
    /// Fail only when the runtime says the call was not applied (docs/client.md, "Exceptions a client call can
    /// end with"); everything else may or may not have been.
    /// </summary>
    public static Outcome Classify(Exception e) => e switch
    {
        ShardUnavailableException or TransportException or ArgumentException or InvalidOperationException => Outcome.Fail,
        RemoteCallException r when r.Message.Contains("not applied", StringComparison.Ordinal)
                                   || r.Message.Contains("is not in shard", StringComparison.Ordinal)
                                   || r.Message.Contains("unknown replicated type", StringComparison.Ordinal)
                                   || r.Message.Contains("request could not be read", StringComparison.Ordinal) => Outcome.Fail,
        _ => Outcome.Unknown,
    };
}
