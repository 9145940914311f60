using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Derecho.Samples.SmartMemory;

/// <summary>
/// OpenTelemetry for one process of the demo (docs/observability.md): the meter "Derecho" and the spans of the source
/// "Derecho" (an ordered call from the fleet is one trace through the relay, the multicast and each replica), to the
/// console or to an OTLP collector (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4317).
/// <c>--otel none|console|otlp</c>, <c>--otel-interval-seconds N</c> (metrics export, 10), <c>--otel-sample R</c>
/// (the share of traces kept, 0.01: at thousands of readings a second every trace would drown the console).
/// </summary>
internal static class Telemetry
{
    public static IDisposable? Start(Arguments args, string service)
    {
        var exporter = args.Text("otel", "none");
        if (exporter == "none") return null;
        if (exporter is not ("console" or "otlp")) throw new ArgumentException($"--otel: '{exporter}' is not none, console or otlp");
        var interval = args.Int("otel-interval-seconds", 10);
        if (interval < 1) throw new ArgumentException($"--otel-interval-seconds: {interval} is not a positive number of seconds");
        var sample = args.Double("otel-sample", 0.01);
        if (sample is < 0 or > 1) throw new ArgumentException($"--otel-sample: {sample} is not a share between 0 and 1");

        var resource = ResourceBuilder.CreateDefault().AddService("derecho-smartmemory", serviceInstanceId: service);
        var meters = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddMeter("Derecho");
        var traces = Sdk.CreateTracerProviderBuilder().SetResourceBuilder(resource).AddSource("Derecho")
            .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(sample)));
        if (exporter == "console")
        {
            meters.AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval * 1000);
            traces.AddConsoleExporter();
        }
        else
        {
            meters.AddOtlpExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval * 1000);
            traces.AddOtlpExporter();
        }
        return new Providers(meters.Build(), traces.Build());
    }

    /// <summary>Flushes and ends both providers when the process ends.</summary>
    private sealed class Providers(MeterProvider meters, TracerProvider traces) : IDisposable
    {
        public void Dispose()
        {
            traces.Dispose();
            meters.Dispose();
        }
    }
}
