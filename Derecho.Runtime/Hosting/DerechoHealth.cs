using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Derecho.Hosting;

/// <summary>
/// The health rules, in one place (docs/observability.md): unhealthy unless the member runs in an adequate view
/// with every shard's state loaded; degraded when a shard has fewer members than its policy's maximum or its
/// disk lags; healthy otherwise.
/// </summary>
internal static class DerechoHealth
{
    public static HealthCheckResult Evaluate(MemberStatus status, Func<ShardStatus, TimeSpan> behindFor, DerechoHealthCheckOptions options)
    {
        var data = DataOf(status, behindFor);
        switch (status.State)
        {
            case MemberState.Starting:
                return HealthCheckResult.Unhealthy($"member {status.MyId} is not in a view yet (starting, restarting or joining)", data: data);
            case MemberState.Stopped:
                return HealthCheckResult.Unhealthy($"member {status.MyId} has stopped: {status.Reason}", data: data);
            case MemberState.Inadequate:
                return HealthCheckResult.Unhealthy($"view {status.ViewId} is inadequate, no shard runs: {status.Reason}", data: data);
            case MemberState.LoadingState:
                return HealthCheckResult.Unhealthy($"member {status.MyId} is loading a shard's state from another member", data: data);
        }
        var problems = new List<string>();
        foreach (var shard in status.Shards)
        {
            if (shard.MaxReplicas != int.MaxValue && shard.Replicas < shard.MaxReplicas)
                problems.Add($"shard {shard.Shard} of {shard.Type} has {shard.Replicas} of {shard.MaxReplicas} replicas");
            var lag = behindFor(shard);
            if (lag > options.PersistenceLagTolerance)
                problems.Add($"shard {shard.Shard} of {shard.Type}: version {shard.Logged} has waited {lag.TotalSeconds:0.#} s for the disk (persisted: {shard.Persisted})");
        }
        return problems.Count == 0
            ? HealthCheckResult.Healthy($"member {status.MyId} runs in view {status.ViewId}", data)
            : HealthCheckResult.Degraded(string.Join("; ", problems), data: data);
    }

    private static Dictionary<string, object> DataOf(MemberStatus status, Func<ShardStatus, TimeSpan> behindFor)
    {
        var data = new Dictionary<string, object>
        {
            ["member"] = status.MyId,
            ["state"] = status.State.ToString(),
            ["view"] = status.ViewId,
            ["members"] = status.Members.ToArray(),
        };
        foreach (var shard in status.Shards)
        {
            data[$"shard {shard.Type}/{shard.Shard}"] = new Dictionary<string, object>
            {
                ["replicas"] = shard.Replicas,
                ["maxReplicas"] = shard.MaxReplicas,
                ["delivered"] = shard.Delivered,
                ["persisted"] = shard.Persisted,
                ["globallyPersisted"] = shard.GloballyPersisted,
                ["persistenceLagSeconds"] = shard.Persistent ? behindFor(shard).TotalSeconds : 0.0,
            };
        }
        return data;
    }
}
