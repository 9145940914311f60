using Derecho.Hosting;
using Derecho.Layout;
using Derecho.Membership;
using Microsoft.Extensions.Logging;

namespace Derecho.Samples.SmartMemory;

/// <summary>
/// One member: hosts <see cref="SensorShard"/> in one of the layouts of <see cref="Layouts"/>. Serves until
/// "shutdown" on standard input.
/// </summary>
internal static class MemberProcess
{
    /// <summary>
    /// overlap (the demo): 2 shards over 3 members, shard 0 on members 0 and 1, shard 1 on members 1 and 2, so either
    /// outer member can die and both shards go on. 1x3 and 2x3 (the benchmark): 1 shard of 3, 2 shards of 3.
    /// </summary>
    public static (int Members, ShardPolicy Policy) Layouts(string name) => name switch
    {
        "overlap" => (3, new ShardPolicy { Shards = 2, MinReplicas = 1, MaxReplicas = 2, Pinned = new Dictionary<int, int[]> { [0] = [0, 1], [1] = [1, 2] } }),
        "1x3" => (3, ShardPolicy.Fixed(1, 3)),
        "2x3" => (6, ShardPolicy.Fixed(2, 3)),
        _ => throw new ArgumentException($"--layout: '{name}' is not overlap, 1x3 or 2x3"),
    };

    public static async Task<int> RunAsync(Arguments args)
    {
        var id = args.Int("id", -1);
        var members = args.Contacts("members");
        using var telemetry = Telemetry.Start(args, $"member-{id}");
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        var options = new DerechoOptions
        {
            MyId = id,
            Members = members.Select(m => new MemberOptions { Id = m.Id, Endpoint = m.Endpoint }).ToList(),
            DataDirectory = args.Text("data"),
        };
        var judge = new JudgeOptions { StoreEverything = args.Text("store-all", "false") == "true" };
        var policy = Layouts(args.Text("layout", "overlap")).Policy;
        await using var group = await DerechoGroup.JoinAsync(options, layout => layout.Subgroup(context => new SensorShard(context, judge), policy), loggers);
        Console.WriteLine($"READY member={id} shards={string.Join(',', group.Layout.Subgroups[0].ShardsOf(id))}");
        group.ViewChanged += (view, joined, departed) => Console.WriteLine($"VIEW {view.Id}: members {string.Join(',', view.Members)} (departed: {string.Join(',', departed)})");
        var command = Task.Run(Console.In.ReadLine);
        if (await Task.WhenAny(command, group.Failed) != command) return 3;
        await group.ShutdownAsync();
        Console.WriteLine($"SHUTDOWN member={id}");
        return 0;
    }
}
