using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Derecho.FaultTests;

/// <summary>How an operation ended. <see cref="Unknown"/>: it may or may not have taken effect (a lost contact, a timeout).</summary>
public enum Outcome
{
    Ok,
    Fail,
    Unknown,
}

/// <summary>
/// One client operation of a history: a put of <see cref="Value"/> or a read that returned <see cref="Value"/>
/// (null: the key had no value). <see cref="Invoke"/> and <see cref="Complete"/> are <see cref="Stopwatch"/>
/// timestamps (CLOCK_MONOTONIC on Linux: comparable between processes of one machine); an unknown operation's
/// completion is ignored (it counts as never completed). <see cref="Member"/>: the member asked (P2P reads) or the
/// client's contact when the call was made (ordered calls).
/// </summary>
public sealed record Op(int Process, string Kind, string Key, string? Value, long Invoke, long Complete, Outcome Outcome, string? Error = null, int? Member = null)
{
    public const string Put = "put";
    public const string Read = "read";

    public bool IsPut => Kind == Put;

    public override string ToString() =>
        $"p{Process} {(IsPut ? $"put({Key}, {Show(Value)})" : $"read({Key}) -> {Show(Value)}")} {Outcome.ToString().ToLowerInvariant()}" +
        (Member is { } m ? $" (member {m})" : "");

    private static string Show(string? value) => value is null ? "null" : $"\"{value}\"";
}

/// <summary>Histories as JSON lines, one <see cref="Op"/> a line.</summary>
public static class HistoryFile
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    public static string Line(Op op) => JsonSerializer.Serialize(op, Json);

    public static List<Op> Read(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<Op>(l, Json)!).ToList();

    public static void Write(string path, IEnumerable<Op> ops) => File.WriteAllLines(path, ops.Select(Line));

    /// <summary>Milliseconds of <paramref name="timestamp"/> after <paramref name="origin"/>.</summary>
    public static double Millis(long timestamp, long origin) => (timestamp - origin) * 1000.0 / Stopwatch.Frequency;
}
