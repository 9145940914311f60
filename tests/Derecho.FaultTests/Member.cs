using Derecho.Hosting;
using Derecho.Membership;
using Microsoft.Extensions.Logging;

namespace Derecho.FaultTests;

/// <summary>
/// Member mode: <c>--member ID --ports P0,P1,… --data DIR [--hosts H0,H1,…] [--join] [--failure-timeout-ms N]</c>
/// (hosts: each member's IPv4 address, default 127.0.0.1; given, the members allow plain TCP beyond loopback). Prints
/// <c>READY</c> once in a view and a <c>VIEW</c> line per installed view; exits 0 after "shutdown" on standard
/// input (whole-group shutdown), 3 when the group stopped this member (excluded, suspected, minority).
/// FAULTS_LOG_LEVEL (default Warning) sets its log level. FAULTS_MUTATION=stale-read in its environment turns on the mutation check's bug (see <see cref="FaultRegister.StaleReads"/>).
/// </summary>
internal static class Member
{
    public static async Task<int> RunAsync(string[] args)
    {
        var id = int.Parse(Arg(args, "--member")!);
        var ports = Arg(args, "--ports")!.Split(',').Select(int.Parse).ToArray();
        var hosts = Arg(args, "--hosts")?.Split(',');
        var failureTimeout = TimeSpan.FromMilliseconds(int.Parse(Arg(args, "--failure-timeout-ms") ?? "2000"));
        var stale = Environment.GetEnvironmentVariable("FAULTS_MUTATION") == "stale-read";
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("FAULTS_LOG_LEVEL"), out var level) ? level : LogLevel.Warning));
        var options = new DerechoOptions
        {
            MyId = id,
            Members = ports.Select((port, i) => new MemberOptions { Id = i, Endpoint = $"{hosts?[i] ?? "127.0.0.1"}:{port}" }).ToList(),
            AllowInsecure = hosts is not null,
            DataDirectory = Arg(args, "--data")!,
            Join = args.Contains("--join"),
            FailureTimeout = failureTimeout,
            RingBytes = 1 << 20,
            MaxPayloadBytes = 64 << 10,
            RetainVersions = 64, // a long run makes millions of versions: memory and the log stay bounded
        };
        DerechoGroup group;
        try
        {
            group = await DerechoGroup.JoinAsync(options, layout => layout.Subgroup(c => new FaultRegister(c) { StaleReads = stale }), loggers);
        }
        catch (Exception e)
        {
            Console.WriteLine($"START-FAILED member={id}: {e.GetType().Name}: {e.Message}");
            return 2;
        }
        group.ViewChanged += (view, joined, departed) =>
            Console.WriteLine($"VIEW id={view.Id} members={string.Join(',', view.Members)} joined={string.Join(',', joined)} departed={string.Join(',', departed)}");
        Console.WriteLine($"READY member={id} view={group.View.Id} members={string.Join(',', group.View.Members)} mutation={(stale ? "stale-read" : "none")}");
        var command = Task.Run(() => Console.In.ReadLine());
        if (await Task.WhenAny(command, group.Failed) == command && command.Result == "shutdown")
        {
            await group.ShutdownAsync();
            Console.WriteLine($"SHUTDOWN member={id}");
            return 0;
        }
        if (group.Failed.IsCompleted) Console.WriteLine($"STOPPED member={id}: {group.Failed.Result.Message}");
        await group.DisposeAsync();
        return group.Failed.IsCompleted ? 3 : 0;
    }

    public static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
