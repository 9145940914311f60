using System.Diagnostics;

namespace Derecho.Diagnostics;

/// <summary>
/// What an external client records under the meter "Derecho": each call's latency by kind, session re-sends and contact
/// failovers. Nothing is timed, and no continuation allocated, when no listener listens to the latency histogram.
/// </summary>
internal static class ClientMetrics
{
    public static readonly KeyValuePair<string, object?> Ordered = DerechoMetrics.OrderedCall;
    public static readonly KeyValuePair<string, object?> P2P = DerechoMetrics.P2PCall;

    /// <summary>A timestamp to measure a call from, or 0 when nobody listens (then nothing is recorded).</summary>
    public static long StartTiming() => DerechoMetrics.StartTiming(DerechoMetrics.ClientCallDuration);

    /// <summary>Records the call's seconds once it ends (with <c>error.type</c>, the exception's type, when it failed).</summary>
    public static void RecordWhenDone<T>(Task<T> call, long started, KeyValuePair<string, object?> kind) =>
        call.ContinueWith(static (t, state) =>
        {
            var (started, kind) = ((long, KeyValuePair<string, object?>))state!;
            if (!DerechoMetrics.ClientCallDuration.Enabled) return;
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (t.Exception?.InnerException is { } error) DerechoMetrics.ClientCallDuration.Record(seconds, kind, new("error.type", error.GetType().FullName));
            else if (t.IsCanceled) DerechoMetrics.ClientCallDuration.Record(seconds, kind, new("error.type", "canceled"));
            else DerechoMetrics.ClientCallDuration.Record(seconds, kind);
        }, (started, kind), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>A call of the session went again, through another member.</summary>
    public static void Resent()
    {
        if (DerechoMetrics.ClientResends.Enabled) DerechoMetrics.ClientResends.Add(1);
    }

    /// <summary>The client moved its contact to another member.</summary>
    public static void FailedOver()
    {
        if (DerechoMetrics.ClientFailovers.Enabled) DerechoMetrics.ClientFailovers.Add(1);
    }
}
