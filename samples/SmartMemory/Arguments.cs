using System.Globalization;

namespace Derecho.Samples.SmartMemory;

/// <summary>Options of the form <c>--name value</c>, read with clear errors.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public Arguments(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"expected an option, got '{args[i]}'");
            if (i + 1 >= args.Count) throw new ArgumentException($"option {args[i]} needs a value");
            _values[args[i][2..]] = args[i + 1];
        }
    }

    public string Text(string name, string? fallback = null) =>
        _values.TryGetValue(name, out var value) ? value : fallback ?? throw new ArgumentException($"option --{name} is required");

    public int Int(string name, int fallback) =>
        _values.TryGetValue(name, out var value)
            ? int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? number : throw new ArgumentException($"--{name}: '{value}' is not a whole number")
            : fallback;

    public double Double(string name, double fallback) =>
        _values.TryGetValue(name, out var value)
            ? double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? number : throw new ArgumentException($"--{name}: '{value}' is not a number")
            : fallback;

    /// <summary>Whether the option was given at all.</summary>
    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>Member endpoints as <c>ID=HOST:PORT,…</c>.</summary>
    public List<(int Id, string Endpoint)> Contacts(string name = "contacts") =>
        Text(name).Split(',').Select(contact =>
        {
            var parts = contact.Split('=', 2);
            return parts.Length == 2 && int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var id)
                ? (id, parts[1])
                : throw new ArgumentException($"--{name}: '{contact}' is not ID=HOST:PORT");
        }).ToList();

    public static string FormatContacts(IEnumerable<(int Id, string Endpoint)> contacts) => string.Join(',', contacts.Select(c => $"{c.Id}={c.Endpoint}"));
}
