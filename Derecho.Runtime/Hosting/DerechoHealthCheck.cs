using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Derecho.Hosting;

/// <summary>
/// A member's health: <see cref="HealthStatus.Healthy"/> when it runs in an adequate view (the primary
/// partition: a member that lost the majority stops); <see cref="HealthStatus.Degraded"/> when one of its
/// shards has fewer members than its policy's maximum, or a logged version waits longer than
/// <see cref="DerechoHealthCheckOptions.PersistenceLagTolerance"/> for the disk;
/// <see cref="HealthStatus.Unhealthy"/> before it is in a view, while it loads a shard's state, in an inadequate
/// view, and once it stopped. The data holds the view, its members and each shard's versions and lag.
/// Register it with <see cref="DerechoHealthChecksBuilderExtensions.AddDerecho"/>.
/// </summary>
public sealed class DerechoHealthCheck : IHealthCheck
{
    private readonly Func<Task<DerechoGroup>> _group;
    private readonly DerechoHealthCheckOptions _options;
    private readonly TimeProvider _clock;
    private readonly PersistenceLagWatch _lag = new();

    /// <summary>Checks the member a generic host runs (unhealthy until it has started).</summary>
    public DerechoHealthCheck(DerechoMember member, DerechoHealthCheckOptions? options = null)
        : this(member.GetGroupAsync, options, TimeProvider.System)
    {
    }

    /// <summary>Checks a member started with <see cref="DerechoGroup.JoinAsync"/>.</summary>
    public DerechoHealthCheck(DerechoGroup group, DerechoHealthCheckOptions? options = null)
        : this(() => Task.FromResult(group), options, TimeProvider.System)
    {
    }

    internal DerechoHealthCheck(Func<Task<DerechoGroup>> group, DerechoHealthCheckOptions? options, TimeProvider clock)
    {
        _group = group;
        _options = options ?? new DerechoHealthCheckOptions();
        _clock = clock;
    }

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var group = _group();
        if (group.IsFaulted) return Task.FromResult(HealthCheckResult.Unhealthy("the member failed to start", group.Exception?.GetBaseException()));
        if (!group.IsCompletedSuccessfully) return Task.FromResult(HealthCheckResult.Unhealthy("the member has not started yet"));
        var now = _clock.GetUtcNow();
        return Task.FromResult(DerechoHealth.Evaluate(group.Result.Status(), shard => _lag.BehindFor(shard, now), _options));
    }
}
