using System.Diagnostics;

namespace Derecho.Diagnostics;

/// <summary>
/// The activity source "Derecho" (docs/observability.md, Traces). An ordered call is one trace: the caller's span
/// (<see cref="ActivityKind.Client"/>), the relaying member's (<see cref="ActivityKind.Server"/>), its multicast send
/// (<see cref="ActivityKind.Producer"/>) and each replica's delivery (<see cref="ActivityKind.Consumer"/>); a P2P call is the
/// caller's span and the replica's. The trace context travels in the call's frames only when a listener created the
/// caller's span; with no listener <see cref="Start"/> returns null without allocating and the frames are as before.
/// </summary>
internal static class DerechoTracing
{
    public const string SourceName = "Derecho";

    public static readonly ActivitySource Source = new(SourceName, typeof(DerechoTracing).Assembly.GetName().Version?.ToString(3));

    /// <summary>
    /// Starts a span when a listener wants it (else null, at the cost of a field read). It does not become
    /// <see cref="Activity.Current"/> of the calling thread: calls, relays and deliveries link their spans explicitly, and a
    /// transport or protocol thread must not carry one span into the next message.
    /// </summary>
    public static Activity? Start(string name, ActivityKind kind, ActivityContext parent = default)
    {
        if (!Source.HasListeners()) return null;
        var current = Activity.Current;
        var activity = Source.StartActivity(name, kind, parent);
        if (activity is not null && Activity.Current != current) Activity.Current = current;
        return activity;
    }

    /// <summary>Stops a span (on any thread), leaving that thread's <see cref="Activity.Current"/> as it was.</summary>
    public static void Stop(Activity activity, Exception? error = null)
    {
        if (error is not null) activity.SetStatus(ActivityStatusCode.Error, error.Message);
        var current = Activity.Current;
        activity.Stop();
        if (current != activity && Activity.Current != current) Activity.Current = current;
    }

    /// <summary>Stops <paramref name="activity"/> when <paramref name="task"/> ends (with its error, if any); returns the task.</summary>
    public static Task<T> StopWhenDone<T>(Task<T> task, Activity? activity)
    {
        if (activity is null) return task;
        task.ContinueWith(static (t, state) => Stop((Activity)state!, t.Exception?.InnerException), activity, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    /// <summary>Tags a call's span (only when a listener records its data).</summary>
    public static void TagCall(Activity activity, int member, uint typeId, int shard, uint methodId)
    {
        if (!activity.IsAllDataRequested) return;
        activity.SetTag("rpc.system", "derecho");
        if (member >= 0) activity.SetTag(MetricTags.MemberKey, member);
        activity.SetTag("derecho.type_id", typeId.ToString("X8", System.Globalization.CultureInfo.InvariantCulture));
        activity.SetTag(MetricTags.ShardKey, shard);
        activity.SetTag("rpc.method", methodId.ToString("X8", System.Globalization.CultureInfo.InvariantCulture));
    }
}
