using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Derecho.Tests.Diagnostics;

/// <summary>Listens to every instrument of the meter "Derecho" and keeps, per instrument, its measurements' count, sum and tag values.</summary>
internal sealed class MetricsRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, (long Count, double Sum)> _totals = new();
    private readonly ConcurrentDictionary<(string Instrument, string Tag), ConcurrentDictionary<string, bool>> _tagValues = new();

    public MetricsRecorder()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Derecho") listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>Asks the observable instruments (ring occupancy, shard versions) for their values now.</summary>
    public void Collect() => _listener.RecordObservableInstruments();

    public long Count(string instrument) => _totals.TryGetValue(instrument, out var t) ? t.Count : 0;

    public double Sum(string instrument) => _totals.TryGetValue(instrument, out var t) ? t.Sum : 0;

    /// <summary>The values tag <paramref name="tag"/> took in measurements of <paramref name="instrument"/>.</summary>
    public IReadOnlyCollection<string> TagValues(string instrument, string tag) =>
        _tagValues.TryGetValue((instrument, tag), out var values) ? values.Keys.ToArray() : [];

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        _totals.AddOrUpdate(instrument.Name, (1, value), (_, t) => (t.Count + 1, t.Sum + value));
        foreach (var (key, tagValue) in tags)
            _tagValues.GetOrAdd((instrument.Name, key), _ => new())[tagValue?.ToString() ?? "null"] = true;
    }

    public void Dispose() => _listener.Dispose();
}
