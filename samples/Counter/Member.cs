using System.Diagnostics;
using Derecho.Errors;
using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Rpc;
using Microsoft.Extensions.Logging;

namespace Derecho.Samples.Counter;

/// <summary>One member process: joins the group, makes ordered calls concurrently with the others, reports.</summary>
internal static class Member
{
    private const int InFlight = 256;
    private const int ProgressEvery = 1000;

    public static async Task<int> RunAsync(MemberArguments arguments)
    {
        // The counter is volatile: nothing to restart from, so its views go to a directory of this process alone.
        var views = Directory.CreateTempSubdirectory("derecho-counter-");
        try { return await RunInAsync(arguments, views.FullName); }
        finally { try { views.Delete(recursive: true); } catch (IOException) { } }
    }

    private static async Task<int> RunInAsync(MemberArguments arguments, string dataDirectory)
    {
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
        var options = new DerechoOptions
        {
            MyId = arguments.MemberId,
            Members = arguments.Ports.Select((_, id) => new MemberOptions { Id = id, Endpoint = arguments.Endpoint(id) }).ToList(),
            Tls = arguments.Tls,
            Join = arguments.Join,
            DataDirectory = dataDirectory,
        };
        Counter? replica = null;
        var group = await DerechoGroup.JoinAsync(options, layout => layout.Subgroup(_ => replica = new Counter()), loggers);
        if (arguments.Join) Console.WriteLine($"JOINED view={group.View.Id} members={string.Join(',', group.View.Members)} calls-in-state={replica!.Calls}");
        group.ViewChanged += (view, joined, departed) =>
            Console.WriteLine($"VIEW id={view.Id} members={string.Join(',', view.Members)} joined={string.Join(',', joined)} departed={string.Join(',', departed)}");
        if (arguments.DieDuringViewChange)
            _ = Task.Run(async () =>
            {
                while (!group.IsChangingView) await Task.Delay(1);
                Die("a view change is under way");
            });

        try
        {
            return await SendAndReportAsync(group, arguments, () => replica!);
        }
        catch (Exception e) when (e is DerechoException or InvalidOperationException && group.Failed.IsCompleted)
        {
            // This side lost the majority or was excluded: it stops without delivering anything more.
            Console.WriteLine($"STOPPED member={group.MyId} reason={group.Failed.Result.Reason}");
            Console.WriteLine($"FINAL member={group.MyId} value={replica!.Value} calls={replica.Calls} history={replica.History:X16}");
            await group.DisposeAsync();
            return 3;
        }
    }

    private static async Task<int> SendAndReportAsync(DerechoGroup group, MemberArguments arguments, Func<Counter> replica)
    {
        var counter = group.Subgroup<Counter>();
        var clock = Stopwatch.StartNew();
        var badReplies = 0;
        var pending = new List<Task<QueryResults<long>>>(InFlight);
        for (var i = 1; i <= arguments.Calls; i++)
        {
            if (i == arguments.DieAfter) Die($"{i - 1} calls sent");
            pending.Add(counter.Ordered.Add(group.MyId, i));
            if (pending.Count < InFlight && i != arguments.Calls) continue;
            foreach (var results in await Task.WhenAll(pending))
            {
                // One reply per replica of the view that delivered the call, all agreeing.
                var members = results.Select(r => r.MemberId).ToArray();
                if (members.Length < 2 || members.Distinct().Count() != members.Length || results.Select(r => r.Value).Distinct().Count() != 1) badReplies++;
            }
            if (i <= InFlight)
            {
                var sample = await pending[0];
                Console.WriteLine($"member {group.MyId}: Add({group.MyId}, 1) -> {string.Join(", ", sample.Select(r => $"member {r.MemberId} says {r.Value}"))}");
            }
            if (i / ProgressEvery != (i - pending.Count) / ProgressEvery) Console.WriteLine($"PROGRESS member={group.MyId} done={i}");
            pending.Clear();
        }
        Console.WriteLine($"REPLIES member={group.MyId} calls={arguments.Calls} bad={badReplies} seconds={clock.Elapsed.TotalSeconds:0.00}");

        // The shutdown barrier ends once every member of the view has delivered everything anyone sent,
        // so the replica's state is final and must be the same at every member.
        await group.ShutdownAsync();
        var state = replica();
        Console.WriteLine($"FINAL member={group.MyId} value={state.Value} calls={state.Calls} history={state.History:X16}");
        return badReplies == 0 && !group.Failed.IsCompleted ? 0 : 1;
    }

    /// <summary>Fault injection: SIGKILL this process, no cleanup, exactly as a crash.</summary>
    private static void Die(string when)
    {
        Console.WriteLine($"DYING by SIGKILL: {when}");
        Console.Out.Flush();
        Process.GetCurrentProcess().Kill();
    }
}
