using System.CommandLine;
using System.Text;
using Derecho.Client;
using Derecho.Errors;
using Derecho.Rpc;
using Derecho.Samples.KvStore;
using Spectre.Console;
using KvStore = Derecho.Samples.KvStore.KvStore;

namespace Derecho.Cli;

/// <summary>
/// <c>derecho</c>: a group's status, a live view of it, and get/put against the KvStore sample, as an external client
/// (docs/observability.md). Exit codes: 0 ok, 1 not found / not healthy, 2 bad arguments, 3 the group did not answer.
/// </summary>
internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        // Redirected output (a file, a pipe, a test) gets 80 columns by default: too narrow for the shard table.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 160;
        return Build().Parse(args).InvokeAsync();
    }

    internal static RootCommand Build()
    {
        var connection = new ConnectionOptions();
        var json = new Option<bool>("--json") { Description = "Print JSON instead of tables" };

        var status = new Command("status", "The view, members, layout, shards and their versions, and how far each replica lags");
        connection.AddTo(status);
        status.Add(json);
        status.SetAction((parse, ct) => Run(async () =>
        {
            await using var client = await connection.ConnectAsync(parse, ct).ConfigureAwait(false);
            var report = await GroupReport.ReadAsync(client, null, ct).ConfigureAwait(false);
            if (parse.GetValue(json)) Console.Out.WriteLine(ReportView.ToJson(report));
            else AnsiConsole.Write(ReportView.Render(report, parse.GetValue(connection.Group)));
            return report.Healthy ? ExitCodes.Ok : ExitCodes.NotFound;
        }));

        var seconds = new Option<double?>("--seconds") { Description = "Stop after this many seconds (default: until Ctrl-C)" };
        var interval = new Option<double>("--interval") { Description = "Seconds between refreshes", DefaultValueFactory = _ => 1 };
        var watch = new Command("watch", "The status, refreshed live (with each shard's delivery rate) until Ctrl-C; --json prints one line per refresh");
        connection.AddTo(watch);
        watch.Add(json);
        watch.Add(seconds);
        watch.Add(interval);
        watch.SetAction((parse, ct) => Run(async () =>
        {
            await using var client = await connection.ConnectAsync(parse, ct).ConfigureAwait(false);
            var until = parse.GetValue(seconds) is { } limit ? DateTime.UtcNow.AddSeconds(limit) : DateTime.MaxValue;
            var every = TimeSpan.FromSeconds(Math.Max(0.1, parse.GetValue(interval)));
            var asJson = parse.GetValue(json);
            var title = parse.GetValue(connection.Group);
            GroupReport? previous = null;
            async Task<bool> Next(Action<GroupReport> show)
            {
                try
                {
                    previous = await GroupReport.ReadAsync(client, previous, ct).ConfigureAwait(false);
                    show(previous);
                    var left = until - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero) return false;
                    await Task.Delay(left < every ? left : every, ct).ConfigureAwait(false);
                    return DateTime.UtcNow < until;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { return false; }
            }
            if (asJson || Console.IsOutputRedirected && !AnsiConsole.Profile.Capabilities.Interactive)
            {
                while (await Next(r => Console.Out.WriteLine(asJson ? ReportView.ToJson(r, indented: false) : "")).ConfigureAwait(false)) { }
                if (!asJson && previous is not null) AnsiConsole.Write(ReportView.Render(previous, title));
                return ExitCodes.Ok;
            }
            await AnsiConsole.Live(new Markup("[grey]asking the members...[/]")).AutoClear(false).StartAsync(async live =>
            {
                while (await Next(r =>
                {
                    live.UpdateTarget(ReportView.Render(r, title));
                    live.Refresh();
                }).ConfigureAwait(false)) { }
            }).ConfigureAwait(false);
            return ExitCodes.Ok;
        }));

        var key = new Argument<string>("key") { Description = "The key" };
        var value = new Argument<string>("value") { Description = "The value (stored as UTF-8)" };
        var get = new Command("get", "Reads a key from a replica of its shard (the contact when it holds the shard)") { key };
        connection.AddTo(get);
        get.Add(json);
        get.SetAction((parse, ct) => Run(async () =>
        {
            await using var client = await connection.ConnectAsync(parse, ct).ConfigureAwait(false);
            var name = parse.GetValue(key)!;
            var shard = Kv(client).ShardFor(name);
            var member = shard.Members.Contains(client.Contact) ? client.Contact : shard.Members.FirstOrDefault(-1);
            if (member < 0) throw new CliException($"shard {shard.Index} of KvStore has no members in view {client.ViewId}", ExitCodes.Unreachable);
            var bytes = await shard.On(member).Get(name).ConfigureAwait(false);
            var text = bytes is null ? null : Encoding.UTF8.GetString(bytes);
            if (parse.GetValue(json)) Console.Out.WriteLine(ReportView.ToJson(new { key = name, shard = shard.Index, member, found = bytes is not null, value = text }));
            else if (text is not null) Console.Out.WriteLine(text);
            else Console.Error.WriteLine($"derecho: no value for '{name}' (shard {shard.Index}, member {member})");
            return bytes is null ? ExitCodes.NotFound : ExitCodes.Ok;
        }));

        var put = new Command("put", "Stores a value under a key (an ordered call: every replica of the key's shard applies it)") { key, value };
        connection.AddTo(put);
        put.Add(json);
        put.SetAction((parse, ct) => Run(async () =>
        {
            await using var client = await connection.ConnectAsync(parse, ct).ConfigureAwait(false);
            var name = parse.GetValue(key)!;
            var shard = Kv(client).ShardFor(name);
            var replies = await shard.Ordered.Put(name, Encoding.UTF8.GetBytes(parse.GetValue(value)!)).ConfigureAwait(false);
            var versions = replies.Select(r => r.Value).Distinct().ToList();
            var version = versions.Count == 1 ? versions[0] : -1;
            if (parse.GetValue(json))
                Console.Out.WriteLine(ReportView.ToJson(new { key = name, shard = shard.Index, version, replicas = replies.Select(r => new { member = r.MemberId, version = r.Value }) }));
            else Console.Out.WriteLine($"put '{name}': version {version} at shard {shard.Index} (members {string.Join(", ", replies.Select(r => r.MemberId))})");
            return versions.Count == 1 ? ExitCodes.Ok : ExitCodes.NotFound;
        }));

        var kv = new Command("kv", "Get and put against the KvStore sample (samples/KvStore)") { get, put };
        return new RootCommand("derecho: look at a running Derecho group and talk to it, as an external client") { status, watch, kv };
    }

    private static Derecho.Rpc.SubgroupHandle<KvStore> Kv(DerechoClient client)
    {
        try
        {
            var handle = client.Subgroup<KvStore>();
            _ = handle.ShardCount;
            return handle;
        }
        catch (ArgumentException e)
        {
            throw new CliException($"the group hosts no KvStore subgroup ({e.Message})", ExitCodes.NotFound);
        }
    }

    /// <summary>Runs a command; what goes wrong is one line on standard error and an exit code, not a stack trace.</summary>
    private static async Task<int> Run(Func<Task<int>> command)
    {
        try
        {
            return await command().ConfigureAwait(false);
        }
        catch (CliException e)
        {
            await Console.Error.WriteLineAsync($"derecho: {e.Message}").ConfigureAwait(false);
            return e.ExitCode;
        }
        catch (Exception e) when (e is DerechoException or TimeoutException or ArgumentException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"derecho: {e.Message}").ConfigureAwait(false);
            return e is CallTimeoutException or Transport.TransportException or RemoteCallException ? ExitCodes.Unreachable : ExitCodes.NotFound;
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Ok;
        }
    }
}
