using System.Diagnostics;
using System.Globalization;
using Derecho.Hosting;
using Derecho.Membership;

namespace Derecho.Benchmarks;

/// <summary>
/// One member of the view-change benchmark: sends ordered calls (256 in flight) and counts acknowledged
/// calls per 50 ms. The victim SIGKILLs itself after the warm-up and prints when; survivors print when the
/// new view was installed and their throughput before the kill and after the new view.
/// </summary>
internal static class ViewChangeMember
{
    private const int InFlight = 256;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan After = TimeSpan.FromSeconds(1.5);

    public static async Task<int> RunAsync(string[] args)
    {
        var id = int.Parse(args[0], CultureInfo.InvariantCulture);
        var ports = args[1].Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        var victim = int.Parse(args[2], CultureInfo.InvariantCulture);
        var options = new DerechoOptions
        {
            MyId = id,
            Members = ports.Select((p, i) => new MemberOptions { Id = i, Endpoint = $"127.0.0.1:{p}" }).ToList(),
            // Views only (the tally is volatile); one directory per run, so a run never restarts from another's views.
            DataDirectory = Path.Combine(Path.GetTempPath(), "derecho-viewchange", args[1].Replace(',', '-')),
        };
        var group = await DerechoGroup.JoinAsync(options, layout => layout.Subgroup(_ => new Tally()));
        var installedAt = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        group.ViewChanged += (_, _, _) => installedAt.TrySetResult(Now());
        var tally = group.Subgroup<Tally>();

        var clock = Stopwatch.StartNew();
        long before = 0, after = 0;
        double afterStart = -1;
        var pending = new List<Task>(InFlight);
        while (true)
        {
            for (var i = 0; i < InFlight; i++) pending.Add(tally.Ordered.Add(1));
            await Task.WhenAll(pending);
            var now = clock.Elapsed;
            if (now < WarmUp) before += pending.Count;
            pending.Clear();
            if (id == victim && now >= WarmUp)
            {
                Console.WriteLine($"KILLAT {Now()}");
                Console.Out.Flush();
                Process.GetCurrentProcess().Kill();
            }
            if (installedAt.Task.IsCompleted)
            {
                if (afterStart < 0) afterStart = now.TotalSeconds;
                else after += InFlight;
                if (now.TotalSeconds - afterStart >= After.TotalSeconds) break;
            }
            if (now > WarmUp + TimeSpan.FromSeconds(60)) return 1;
        }
        var afterSeconds = clock.Elapsed.TotalSeconds - afterStart;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT {installedAt.Task.Result} {before / WarmUp.TotalSeconds:F0} {after / afterSeconds:F0}"));
        await group.ShutdownAsync();
        return 0;
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
