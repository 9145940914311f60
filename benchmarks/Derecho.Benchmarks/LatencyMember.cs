using System.Globalization;
using Derecho.Hosting;
using Derecho.Membership;

namespace Derecho.Benchmarks;

/// <summary>
/// One member of the latency benchmark's own group (<c>--child-latency ID PORTS CALLS DATA</c>): the benchmark's
/// <see cref="Tally"/> (plain state, nothing persisted) on 3 processes. Member 0 times ordered calls it issues itself
/// and P2P calls to member 2, one in flight, and prints each series (<c>SAMPLES kind µs,µs,…</c>); the others serve
/// until they are killed.
/// </summary>
internal static class LatencyMember
{
    public static async Task<int> RunAsync(string[] args)
    {
        var id = int.Parse(args[0], CultureInfo.InvariantCulture);
        var ports = args[1].Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        var calls = int.Parse(args[2], CultureInfo.InvariantCulture);
        var options = new DerechoOptions
        {
            MyId = id,
            Members = ports.Select((p, i) => new MemberOptions { Id = i, Endpoint = $"127.0.0.1:{p}" }).ToList(),
            DataDirectory = Path.Combine(args[3], $"member-{id}"),
        };
        await using var group = await DerechoGroup.JoinAsync(options, layout => layout.Subgroup(_ => new Tally()));
        var tally = group.Subgroup<Tally>();
        if (id == 0)
        {
            Print("member_ordered_volatile", await LatencyBenchmark.Samples(calls, async () => await tally.Ordered.Add(1)));
            Print("member_p2p", await LatencyBenchmark.Samples(calls, async () => await tally.On(ports.Length - 1).Sum()));
            Console.WriteLine("DONE");
        }
        await Task.Delay(Timeout.Infinite);
        return 0;
    }

    private static void Print(string kind, double[] micros) =>
        Console.WriteLine($"SAMPLES {kind} {string.Join(',', micros.Select(m => m.ToString("R", CultureInfo.InvariantCulture)))}");
}
