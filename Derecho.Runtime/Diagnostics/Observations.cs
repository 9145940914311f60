using System.Diagnostics.Metrics;

namespace Derecho.Diagnostics;

/// <summary>
/// The live sources of an observable instrument (a ring, a member's shards). Each source registers a callback
/// while it lives; a collection asks all of them. Nothing runs unless a listener collects.
/// </summary>
internal sealed class Observations<T> where T : struct
{
    private readonly object _gate = new();
    private readonly List<Action<List<Measurement<T>>>> _sources = new();

    /// <summary>Adds a source until the returned handle is disposed.</summary>
    public IDisposable Add(Action<List<Measurement<T>>> report)
    {
        lock (_gate) _sources.Add(report);
        return new Registration(this, report);
    }

    /// <summary>Every source's measurements now (called by the listener's collection, off the protocol thread).</summary>
    public IEnumerable<Measurement<T>> Collect()
    {
        Action<List<Measurement<T>>>[] sources;
        lock (_gate) sources = _sources.ToArray();
        var measurements = new List<Measurement<T>>();
        foreach (var report in sources) report(measurements);
        return measurements;
    }

    private void Remove(Action<List<Measurement<T>>> report)
    {
        lock (_gate) _sources.Remove(report);
    }

    private sealed class Registration(Observations<T> owner, Action<List<Measurement<T>>> report) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) owner.Remove(report);
        }
    }
}
