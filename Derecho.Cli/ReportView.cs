using System.Text.Json;
using System.Text.Json.Serialization;
using Derecho.Client;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Derecho.Cli;

/// <summary>A report as Spectre.Console tables, or as JSON.</summary>
internal static class ReportView
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    private static readonly JsonSerializerOptions Indented = new(Json) { WriteIndented = true };

    private static readonly JsonSerializerOptions JsonLine = new(Json) { WriteIndented = false };

    public static string ToJson<T>(T value, bool indented = true) => JsonSerializer.Serialize(value, indented ? Indented : JsonLine);

    public static IRenderable Render(GroupReport report, string? title = null)
    {
        var members = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(title ?? "Derecho group")}[/] view [bold]{report.ViewId}[/]");
        members.AddColumns("Member", "Endpoint", "State", "View", "Answer (ms)", "Note");
        foreach (var m in report.Members)
        {
            var state = m.Error is not null ? $"[red]{Markup.Escape(m.State.ToLowerInvariant())}[/]"
                : m.State == "Running" ? "[green]Running[/]" : $"[yellow]{Markup.Escape(m.State)}[/]";
            members.AddRow(m.IsContact ? $"[bold]{m.Id}[/] (contact)" : m.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(m.Endpoint), state,
                m.ViewId.ToString(System.Globalization.CultureInfo.InvariantCulture), m.LatencyMs.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape(m.Error ?? m.Reason ?? ""));
        }

        var shards = new Table().Border(TableBorder.Rounded).Title("[bold]Shards[/]");
        shards.AddColumns("Type", "Shard", "Members", "Delivered", "Global persisted", "Versions/s", "Replicas: delivered / persisted (lag)");
        foreach (var s in report.Shards)
        {
            var replicas = string.Join("  ", s.Replicas.Select(r =>
            {
                var lag = r.DeliveryLag > 0 || r.PersistenceLag > 0 ? $" [yellow]({r.DeliveryLag}/{r.PersistenceLag})[/]" : "";
                return s.Persistent ? $"{r.Member}: {Version(r.Delivered)}/{Version(r.Persisted)}{lag}" : $"{r.Member}: {Version(r.Delivered)}{lag}";
            }));
            shards.AddRow(Markup.Escape(ShortName(s.Type)), s.Shard.ToString(System.Globalization.CultureInfo.InvariantCulture), string.Join(",", s.Members),
                Version(s.Delivered), s.Persistent ? Version(s.GloballyPersisted) : "-", s.VersionsPerSecond?.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) ?? "",
                replicas.Length == 0 ? "[red]no answer[/]" : replicas);
        }
        var footer = report.Inadequate is { } why ? new Markup($"[yellow]inadequate view: {Markup.Escape(why)}[/]") : new Markup($"[grey]read at {report.ReadAt:HH:mm:ss.fff} UTC[/]");
        return new Rows(members, shards, footer);
    }

    /// <summary>A type's name without its namespace (the JSON keeps the full name).</summary>
    private static string ShortName(string type) => type.LastIndexOf('.') is var dot and >= 0 && dot < type.Length - 1 ? type[(dot + 1)..] : type;

    private static string Version(long version) => version < 0 ? "-" : version.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
