using Derecho.Errors;
using Derecho.Layout;
using Derecho.Replication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Derecho.Hosting;

/// <summary>Registers a Derecho member in a generic host.</summary>
public static class DerechoServiceCollectionExtensions
{
    /// <summary>
    /// Adds a member configured from <paramref name="configuration"/> (usually the "Derecho" section:
    /// appsettings.json, environment variables such as <c>Derecho__MyId</c>, command line) hosting the
    /// replicated types of <paramref name="layout"/>. Bad settings fail at start with the key and the problem.
    /// </summary>
    public static IServiceCollection AddDerecho(this IServiceCollection services, IConfiguration configuration, Action<LayoutBuilder> layout)
    {
        services.AddOptions<DerechoOptions>()
            .Bind(configuration, binder => binder.ErrorOnUnknownConfiguration = true)
            .Validate(options =>
            {
                ValidatedOptions.From(options); // throws DerechoConfigurationException naming the key
                return true;
            });
        services.AddSingleton(new DerechoLayout(layout));
        services.AddSingleton<DerechoMember>();
        services.AddHostedService(provider => provider.GetRequiredService<DerechoMember>());
        return services;
    }
}
