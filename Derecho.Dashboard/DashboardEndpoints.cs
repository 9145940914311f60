using System.Reflection;
using System.Text.Json;
using Derecho.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Derecho.Dashboard;

/// <summary>Maps the dashboard: <c>{prefix}/</c> is the page, <c>{prefix}/events</c> its server-sent events, <c>{prefix}/snapshot</c> one update as JSON.</summary>
public static class DashboardEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Maps the dashboard under <paramref name="prefix"/>, reading the group through <paramref name="client"/>, or
    /// through the <see cref="DerechoClient"/> registered in the host's services when null (a member host connects one
    /// to its own group).
    /// </summary>
    public static IEndpointConventionBuilder MapDerechoDashboard(this IEndpointRouteBuilder endpoints, string prefix = "/derecho", DerechoClient? client = null,
        Action<DashboardOptions>? configure = null)
    {
        var options = new DashboardOptions();
        configure?.Invoke(options);
        return endpoints.MapDerechoDashboard(prefix, _ => Task.FromResult(client ?? endpoints.ServiceProvider.GetRequiredService<DerechoClient>()), options);
    }

    /// <summary>Maps the dashboard under <paramref name="prefix"/>, reading the group through the client <paramref name="client"/> gives (connected lazily).</summary>
    public static IEndpointConventionBuilder MapDerechoDashboard(this IEndpointRouteBuilder endpoints, string prefix, Func<CancellationToken, Task<DerechoClient>> client,
        DashboardOptions options)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        prefix = "/" + prefix.Trim('/');
        var feed = new DashboardFeed(client, options);
        var group = endpoints.MapGroup(prefix == "/" ? "" : prefix);
        group.MapGet("/", async context =>
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.Body.WriteAsync(Page.Value, context.RequestAborted).ConfigureAwait(false);
        });
        group.MapGet("/snapshot", async context =>
            await context.Response.WriteAsJsonAsync(await feed.ReadAsync(context.RequestAborted).ConfigureAwait(false), Json, context.RequestAborted).ConfigureAwait(false));
        group.MapGet("/events", async context =>
        {
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            var aborted = context.RequestAborted;
            try
            {
                while (!aborted.IsCancellationRequested)
                {
                    string data;
                    try { data = JsonSerializer.Serialize(await feed.ReadAsync(aborted).ConfigureAwait(false), Json); }
                    catch (Exception e) when (e is not OperationCanceledException) { data = JsonSerializer.Serialize(new { error = e.Message }, Json); }
                    await context.Response.WriteAsync($"data: {data}\n\n", aborted).ConfigureAwait(false);
                    await context.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
                    await Task.Delay(options.Interval, aborted).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) { } // the page went away
        });
        return group;
    }

    private static readonly Lazy<byte[]> Page = new(() =>
    {
        using var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream("Derecho.Dashboard.dashboard.html")
            ?? throw new InvalidOperationException("the dashboard page is missing from Derecho.Dashboard");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });
}
