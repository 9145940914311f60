using Derecho.Hosting;
using Derecho.Layout;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Derecho.Samples.KvStore;

/// <summary>
/// One member as a .NET generic host. Settings come from configuration (command line here; appsettings.json
/// or environment variables work the same): the Derecho section, and KvStore:Shards / KvStore:Replicas for
/// the layout. It serves until "shutdown" arrives on standard input (the whole group shuts down together)
/// or the host is stopped (SIGTERM/Ctrl-C: this member leaves, the others go on). With KvStore:Metrics=console
/// the meter "Derecho" goes to OpenTelemetry's console exporter every KvStore:MetricsIntervalSeconds (10).
/// </summary>
internal static class MemberHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information);
        var shards = builder.Configuration.GetValue("KvStore:Shards", 2);
        var replicas = builder.Configuration.GetValue("KvStore:Replicas", 3);
        builder.Services.AddDerecho(builder.Configuration.GetSection("Derecho"),
            layout => layout
                .Subgroup(context => new KvStore(context), new ShardPolicy { Shards = shards, MinReplicas = Math.Min(2, replicas), MaxReplicas = replicas })
                .Subgroup(_ => new Tally(), new ShardPolicy { MinReplicas = 1, MaxReplicas = 3 }));
        if (builder.Configuration.GetValue<string>("KvStore:Metrics") == "console")
        {
            var interval = builder.Configuration.GetValue("KvStore:MetricsIntervalSeconds", 10);
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
                .AddMeter("Derecho")
                .AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval * 1000));
        }
        using var host = builder.Build();
        await host.StartAsync();
        var group = await host.Services.GetRequiredService<DerechoMember>().GetGroupAsync();
        var mine = group.Layout.Subgroups[0].ShardsOf(group.MyId).ToList();
        var tally = group.Layout.Subgroups[1].ShardsOf(group.MyId).Any();
        Console.WriteLine($"READY member={group.MyId} view={group.View.Id} kv-shards={string.Join(',', mine)} tally={tally}");
        group.ViewChanged += (view, joined, departed) =>
            Console.WriteLine($"VIEW id={view.Id} members={string.Join(',', view.Members)} joined={string.Join(',', joined)} departed={string.Join(',', departed)}");

        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopping = Task.Delay(Timeout.Infinite, lifetime.ApplicationStopping);
        var command = Task.Run(() => Console.In.ReadLine());
        if (await Task.WhenAny(command, stopping, group.Failed) == command && command.Result == "shutdown")
        {
            // Every member runs the barrier: it ends when all delivered everything anyone sent.
            await group.ShutdownAsync();
            Console.WriteLine($"SHUTDOWN member={group.MyId}");
        }
        await host.StopAsync();
        return group.Failed.IsCompleted ? 3 : 0;
    }
}
