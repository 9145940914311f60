using Derecho.Hosting;
using Derecho.Layout;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Derecho.Samples.KvStore;

/// <summary>
/// One member as a .NET generic host. Settings come from configuration (command line here; appsettings.json
/// or environment variables work the same): the Derecho section, and KvStore:Shards / KvStore:Replicas for
/// the layout. It serves until "shutdown" arrives on standard input (the whole group shuts down together; "gc" prints
/// this process's garbage-collection figures so far, for the kv benchmark)
/// or the host is stopped (SIGTERM/Ctrl-C: this member leaves, the others go on). With KvStore:OpenTelemetry=console
/// (or otlp: OTEL_EXPORTER_OTLP_ENDPOINT) the meter "Derecho" is exported every KvStore:MetricsIntervalSeconds (10),
/// and the spans of the source "Derecho" (a share KvStore:TraceSampleRatio of the traces, 1 by default).
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
        if (builder.Configuration.GetValue<string>("KvStore:OpenTelemetry") is { } exporter)
        {
            if (exporter is not ("console" or "otlp")) throw new ArgumentException($"KvStore:OpenTelemetry: '{exporter}' is not console or otlp");
            var interval = builder.Configuration.GetValue("KvStore:MetricsIntervalSeconds", 10) * 1000;
            var ratio = builder.Configuration.GetValue("KvStore:TraceSampleRatio", 1.0);
            builder.Services.AddOpenTelemetry()
                .ConfigureResource(resource => resource.AddService("derecho-kvstore", serviceInstanceId: builder.Configuration["Derecho:MyId"]))
                .WithMetrics(metrics =>
                {
                    metrics.AddMeter("Derecho");
                    if (exporter == "console") metrics.AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval);
                    else metrics.AddOtlpExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval);
                })
                .WithTracing(tracing =>
                {
                    tracing.AddSource("Derecho").SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio)));
                    if (exporter == "console") tracing.AddConsoleExporter();
                    else tracing.AddOtlpExporter();
                });
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
        var command = Task.Run(() =>
        {
            while (Console.In.ReadLine() is { } line)
                if (line == "gc") Console.WriteLine(GcStats.Line());
                else return line;
            return null;
        });
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
