using System.Diagnostics;
using Derecho.Hosting;
using Microsoft.Extensions.Logging;

namespace Derecho.Samples.Counter;

/// <summary>One member process: joins the group, makes ordered calls concurrently with the others, reports.</summary>
internal static class Member
{
    private const int InFlight = 256;

    public static async Task<int> RunAsync(MemberArguments arguments)
    {
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
        var options = new DerechoOptions
        {
            MyId = arguments.MemberId,
            Members = arguments.Ports.Select((port, id) => new MemberOptions { Id = id, Endpoint = $"127.0.0.1:{port}" }).ToList(),
        };
        await using var group = await DerechoGroup.JoinAsync(options, layout => layout.Subgroup(_ => new Counter()), loggers);
        var counter = group.Subgroup<Counter>();

        var clock = Stopwatch.StartNew();
        var badReplies = 0;
        var pending = new List<Task<QueryResults<long>>>(InFlight);
        for (var i = 1; i <= arguments.Calls; i++)
        {
            pending.Add(counter.Ordered.Add(group.MyId, i));
            if (pending.Count == InFlight || i == arguments.Calls)
            {
                foreach (var results in await Task.WhenAll(pending))
                {
                    var members = results.Select(r => r.MemberId).Order().ToArray();
                    if (!members.SequenceEqual(group.View.Members) || results.Select(r => r.Value).Distinct().Count() != 1) badReplies++;
                }
                if (i <= InFlight)
                {
                    var sample = await pending[0];
                    Console.WriteLine($"member {group.MyId}: Add({group.MyId}, 1) -> {string.Join(", ", sample.Select(r => $"member {r.MemberId} says {r.Value}"))}");
                }
                pending.Clear();
            }
        }
        Console.WriteLine($"REPLIES member={group.MyId} calls={arguments.Calls} bad={badReplies} seconds={clock.Elapsed.TotalSeconds:0.00}");

        // Wait until this replica has applied every member's calls, then report its state.
        var expected = (long)arguments.Calls * group.View.Members.Count;
        CounterState state;
        while ((state = await counter.On(group.MyId).Read()).Calls < expected) await Task.Delay(20);
        Console.WriteLine($"FINAL member={group.MyId} value={state.Value} calls={state.Calls} history={state.History:X16}");
        await group.LeaveAsync();
        return badReplies == 0 ? 0 : 1;
    }
}
