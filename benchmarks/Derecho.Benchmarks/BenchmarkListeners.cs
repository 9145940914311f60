using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace Derecho.Benchmarks;

/// <summary>
/// What an exporter costs a member, roughly: a MeterListener on every instrument of the meter "Derecho" that adds up
/// each measurement and collects the observable ones once a second (as a periodic exporter would), and an
/// ActivityListener that samples every span of the source "Derecho" (as a tracing exporter at 100% would).
/// </summary>
internal sealed class BenchmarkListeners : IDisposable
{
    private readonly MeterListener _meters = new();
    private readonly ActivityListener _spans;
    private readonly Timer _collector;
    private long _measurements;
    private long _activities;
    private double _delivered;

    public BenchmarkListeners()
    {
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Derecho") listener.EnableMeasurementEvents(instrument);
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, _, _) => Record(instrument, value));
        _meters.SetMeasurementEventCallback<double>((instrument, value, _, _) => Record(instrument, value));
        _meters.Start();
        _collector = new Timer(_ => _meters.RecordObservableInstruments(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        _spans = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Derecho",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _ => Interlocked.Increment(ref _activities),
        };
        ActivitySource.AddActivityListener(_spans);
    }

    /// <summary>One line for the benchmark's output: how many measurements and spans arrived, and the delivered count the measurements add up to.</summary>
    public string Summary(int rank) => string.Create(CultureInfo.InvariantCulture,
        $"METRICS {rank} measurements={Interlocked.Read(ref _measurements)} spans={Interlocked.Read(ref _activities)} derecho.multicast.delivered={Volatile.Read(ref _delivered):0}");

    private void Record(Instrument instrument, double value)
    {
        Interlocked.Increment(ref _measurements);
        if (instrument.Name == "derecho.multicast.delivered") _delivered += value; // the protocol thread alone records it
    }

    public void Dispose()
    {
        _collector.Dispose();
        _meters.Dispose();
        _spans.Dispose();
    }
}
