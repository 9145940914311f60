namespace Derecho.FaultTests;

/// <summary>
/// Entry point of the non-test roles of this assembly (xunit does not call it):
/// <c>--member …</c> (<see cref="Member"/>), <c>--client …</c> (<see cref="ClientWorker"/>), or the long run:
/// <c>--check FILE…</c> (check recorded histories), or <c>--minutes N [--members 3|5] [--reads ordered|p2p] [--faults KIND,…] [--namespaces on|off] [--seed S]</c> (<see cref="FaultRun"/>).
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--member") return await Member.RunAsync(args);
        if (args.Length > 0 && args[0] == "--client") return await ClientWorker.RunAsync(args);
        if (args.Length > 1 && args[0] == "--check")
        {
            // Offline: check history files (JSON lines) together.
            var verdict = Linearizability.Check(args[1..].SelectMany(HistoryFile.Read).ToList());
            Console.WriteLine(verdict.Report());
            return verdict.Linearizable ? 0 : 1;
        }
        if (Member.Arg(args, "--minutes") is { } minutes)
        {
            var config = new FaultRunConfig
            {
                Duration = TimeSpan.FromMinutes(double.Parse(minutes, System.Globalization.CultureInfo.InvariantCulture)),
                Members = int.Parse(Member.Arg(args, "--members") ?? "3"),
                P2PReads = Member.Arg(args, "--reads") == "p2p",
                Faults = Member.Arg(args, "--faults")?.Split(',', StringSplitOptions.RemoveEmptyEntries),
                Namespaces = Member.Arg(args, "--namespaces") is { } ns ? ns == "on" : null,
                Seed = int.Parse(Member.Arg(args, "--seed") ?? Environment.TickCount.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            };
            var result = await FaultRun.RunAsync(config, Console.WriteLine);
            return result.Passed ? 0 : 1;
        }
        Console.Error.WriteLine("usage: Derecho.FaultTests --minutes N [--members 3|5] [--reads ordered|p2p] [--faults KIND,…] [--namespaces on|off] [--seed S]   (or: dotnet test, for the CI run)");
        return 2;
    }
}
