using System.Diagnostics.Metrics;
using System.Globalization;

namespace Derecho.Benchmarks;

/// <summary>
/// What an exporter costs a member, roughly: listens to every instrument of the meter "Derecho", adds up each
/// measurement, and collects the observable ones once a second (as a periodic exporter would).
/// </summary>
internal sealed class BenchmarkMeterListener : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Timer _collector;
    private long _measurements;
    private double _delivered;

    public BenchmarkMeterListener()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Derecho") listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Record(instrument, value));
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Record(instrument, value));
        _listener.Start();
        _collector = new Timer(_ => _listener.RecordObservableInstruments(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>One line for the benchmark's output: how many measurements arrived and the delivered count they add up to.</summary>
    public string Summary(int rank) => string.Create(CultureInfo.InvariantCulture,
        $"METRICS {rank} measurements={Interlocked.Read(ref _measurements)} derecho.multicast.delivered={Volatile.Read(ref _delivered):0}");

    private void Record(Instrument instrument, double value)
    {
        Interlocked.Increment(ref _measurements);
        if (instrument.Name == "derecho.multicast.delivered") _delivered += value; // the protocol thread alone records it
    }

    public void Dispose()
    {
        _collector.Dispose();
        _listener.Dispose();
    }
}
