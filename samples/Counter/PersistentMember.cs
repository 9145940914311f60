using Derecho.Hosting;
using Derecho.Membership;
using Microsoft.Extensions.Logging;

namespace Derecho.Samples.Counter;

/// <summary>
/// A member whose state is a <see cref="Persistent{T}"/> total under --data DIR. It reports every version
/// that became globally persisted (on disk at every member) with the total at that version, then makes its
/// calls. Started again on the same directory (e.g. after every member was killed) it recovers from its log
/// and reports what it recovered.
/// </summary>
internal static class PersistentMember
{
    public static async Task<int> RunAsync(MemberArguments arguments, string dataDirectory)
    {
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
        var options = new DerechoOptions
        {
            MyId = arguments.MemberId,
            Members = arguments.Ports.Select((_, id) => new MemberOptions { Id = id, Endpoint = arguments.Endpoint(id) }).ToList(),
            Tls = arguments.Tls,
            DataDirectory = dataDirectory,
        };
        Ledger? ledger = null;
        var group = await DerechoGroup.JoinAsync(options, layout => layout.Subgroup(context => ledger = new Ledger(context)), loggers);
        var total = ledger!.Total;
        Console.WriteLine($"RECOVERED member={group.MyId} version={total.CurrentVersion} total={total.Current} versions={total.VersionCount}");
        if (arguments.At is { } at)
            Console.WriteLine(total.TryGetAt(at, out var value) ? $"AT version={at} found={value.Version} total={value.Value}" : $"AT version={at} missing");
        group.GloballyPersisted += version =>
        {
            if (total.TryGetAt(version, out var at)) Console.WriteLine($"GLOBALLY-PERSISTED member={group.MyId} version={at.Version} total={at.Value}");
        };

        var proxy = group.Subgroup<Ledger>();
        var pending = new List<Task>(128);
        for (var i = 1; i <= arguments.Calls; i++)
        {
            pending.Add(proxy.Ordered.Add(i));
            if (pending.Count < 128 && i != arguments.Calls) continue;
            await Task.WhenAll(pending);
            pending.Clear();
        }
        await group.ShutdownAsync();
        Console.WriteLine($"FINAL member={group.MyId} version={total.CurrentVersion} total={total.Current}");
        return 0;
    }
}
