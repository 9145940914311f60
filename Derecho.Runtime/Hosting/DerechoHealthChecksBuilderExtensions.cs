using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Derecho.Hosting;

/// <summary>Adds the member's <see cref="DerechoHealthCheck"/> to a host's health checks.</summary>
public static class DerechoHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check of the member registered by <see cref="DerechoServiceCollectionExtensions.AddDerecho"/>:
    /// <c>services.AddHealthChecks().AddDerecho()</c>. <paramref name="tags"/> let endpoints pick it (e.g. "ready").
    /// </summary>
    public static IHealthChecksBuilder AddDerecho(this IHealthChecksBuilder builder, string name = "derecho", Action<DerechoHealthCheckOptions>? configure = null,
        IEnumerable<string>? tags = null)
    {
        var options = new DerechoHealthCheckOptions();
        configure?.Invoke(options);
        // One check for the host's life: it remembers since when the disk lags, across the checks the host runs.
        DerechoHealthCheck? check = null;
        return builder.Add(new HealthCheckRegistration(name,
            services => LazyInitializer.EnsureInitialized(ref check, () => new DerechoHealthCheck(services.GetRequiredService<DerechoMember>(), options)),
            failureStatus: HealthStatus.Unhealthy, tags));
    }
}
