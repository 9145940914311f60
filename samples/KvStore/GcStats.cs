using System.Globalization;
using System.Runtime;

namespace Derecho.Samples.KvStore;

/// <summary>
/// This process's garbage collection so far, as one line ("GC allocated=… pause_ms=… gen0=… gen1=… gen2=… server=… concurrent=…")
/// and read back: the kv benchmark asks each member before and after a phase and reports the difference per put.
/// </summary>
public readonly record struct GcStats(long Allocated, double PauseMilliseconds, int Gen0, int Gen1, int Gen2)
{
    public static GcStats Now() => new(GC.GetTotalAllocatedBytes(precise: false), GC.GetTotalPauseDuration().TotalMilliseconds,
        GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));

    public static string Line()
    {
        var now = Now();
        return string.Create(CultureInfo.InvariantCulture,
            $"GC allocated={now.Allocated} pause_ms={now.PauseMilliseconds:0.###} gen0={now.Gen0} gen1={now.Gen1} gen2={now.Gen2} server={GCSettings.IsServerGC} mode={GCSettings.LatencyMode}");
    }

    /// <summary>Reads a <see cref="Line"/>; false for any other line.</summary>
    public static bool TryParse(string line, out GcStats stats)
    {
        stats = default;
        if (!line.StartsWith("GC ", StringComparison.Ordinal)) return false;
        var fields = line[3..].Split(' ').Select(f => f.Split('=', 2)).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1]);
        long Long(string name) => fields.TryGetValue(name, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : -1;
        var pause = fields.TryGetValue("pause_ms", out var pauseText) && double.TryParse(pauseText, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) ? ms : -1;
        var (allocated, gen0, gen1, gen2) = (Long("allocated"), Long("gen0"), Long("gen1"), Long("gen2"));
        if (allocated < 0 || pause < 0 || gen0 < 0 || gen1 < 0 || gen2 < 0) return false;
        stats = new GcStats(allocated, pause, (int)gen0, (int)gen1, (int)gen2);
        return true;
    }

    public static GcStats operator -(GcStats after, GcStats before) => new(after.Allocated - before.Allocated, after.PauseMilliseconds - before.PauseMilliseconds,
        after.Gen0 - before.Gen0, after.Gen1 - before.Gen1, after.Gen2 - before.Gen2);

    public static GcStats operator +(GcStats a, GcStats b) => new(a.Allocated + b.Allocated, a.PauseMilliseconds + b.PauseMilliseconds, a.Gen0 + b.Gen0, a.Gen1 + b.Gen1, a.Gen2 + b.Gen2);
}
