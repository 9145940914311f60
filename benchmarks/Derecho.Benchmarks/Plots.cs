using ScottPlot;

namespace Derecho.Benchmarks;

/// <summary>
/// The benchmarks' pictures (PNG, ScottPlot): throughput by message size against the loopback reference, a peer
/// comparison as bars, latency CDFs. Written to <c>--plots DIR</c> (default <c>plots/</c> under the current
/// folder; <c>--plots none</c> writes none); the README shows a set from this kind of machine (docs/plots/).
/// </summary>
internal static class Plots
{
    private const int Width = 900;
    private const int Height = 520;

    /// <summary>The folder the benchmark's plots go to, created; null with <c>--plots none</c>.</summary>
    public static string? FolderFrom(string[] args)
    {
        var i = Array.IndexOf(args, "--plots");
        var folder = i >= 0 && i + 1 < args.Length ? args[i + 1] : "plots";
        if (folder == "none") return null;
        Directory.CreateDirectory(folder);
        return Path.GetFullPath(folder);
    }

    /// <summary>Throughput (MB/s) against message size (log scale), one line per series, and the reference as a horizontal line.</summary>
    public static string ThroughputBySize(string folder, string name, string title, IReadOnlyList<(string Label, IReadOnlyList<(int Size, double MegabytesPerSecond)> Points)> series,
        (string Label, double MegabytesPerSecond)? reference)
    {
        using var plot = new Plot();
        foreach (var (label, points) in series)
        {
            var line = plot.Add.Scatter(points.Select(p => Math.Log10(p.Size)).ToArray(), points.Select(p => p.MegabytesPerSecond).ToArray());
            line.LegendText = label;
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }
        if (reference is { } r)
        {
            var level = plot.Add.HorizontalLine(r.MegabytesPerSecond);
            level.LegendText = $"{r.Label} ({r.MegabytesPerSecond:N0} MB/s)";
            level.LinePattern = LinePattern.Dashed;
            level.LineWidth = 2;
        }
        LogTicks(plot.Axes.Bottom, "message size (bytes)", bytes: true);
        plot.YLabel("MB/s");
        var top = series.SelectMany(x => x.Points).Select(p => p.MegabytesPerSecond).Append(reference?.MegabytesPerSecond ?? 0).Max();
        plot.Axes.SetLimitsY(0, top * 1.1);
        plot.Title(title);
        plot.ShowLegend(Alignment.MiddleRight);
        return Save(plot, folder, name);
    }

    /// <summary>One bar per system (e.g. puts/s of ours and of the peers), each labelled with its value.</summary>
    public static string Bars(string folder, string name, string title, string unit, IReadOnlyList<(string Label, double Value)> bars)
    {
        using var plot = new Plot();
        for (var i = 0; i < bars.Count; i++)
        {
            var bar = plot.Add.Bar(i, bars[i].Value);
            bar.Bars[0].Label = bars[i].Value.ToString(bars[i].Value >= 100 ? "N0" : "N1", System.Globalization.CultureInfo.InvariantCulture);
            bar.Bars[0].FillColor = Palette[i % Palette.Length];
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, bars.Count).Select(i => (double)i).ToArray(), bars.Select(b => b.Label).ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Margins(bottom: 0, top: 0.15);
        plot.YLabel(unit);
        plot.Title(title);
        return Save(plot, folder, name);
    }

    /// <summary>Latency CDFs: for each series, the share of calls (y) done within a latency (x, µs, log scale).</summary>
    public static string LatencyCdf(string folder, string name, string title, IReadOnlyList<(string Label, double[] Micros)> series)
    {
        using var plot = new Plot();
        foreach (var (label, micros) in series.Where(s => s.Micros.Length > 0))
        {
            var sorted = micros.Order().ToArray();
            // At most 2,000 points a line: evenly spaced ranks, and the last one (the maximum) always.
            var step = Math.Max(1, sorted.Length / 2000);
            var ranks = Enumerable.Range(0, sorted.Length).Where(i => i % step == 0 || i == sorted.Length - 1).ToArray();
            var line = plot.Add.Scatter(ranks.Select(i => Math.Log10(Math.Max(sorted[i], 0.1))).ToArray(), ranks.Select(i => 100.0 * (i + 1) / sorted.Length).ToArray());
            line.LegendText = $"{label} (p50 {sorted[sorted.Length / 2]:N0} µs)";
            line.MarkerSize = 0;
            line.LineWidth = 2;
        }
        LogTicks(plot.Axes.Bottom, "latency (µs)", bytes: false);
        plot.YLabel("calls done within it (%)");
        plot.Axes.SetLimitsY(0, 100);
        plot.Title(title);
        plot.ShowLegend(Alignment.LowerRight);
        return Save(plot, folder, name);
    }

    private static readonly Color[] Palette = [Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen, Colors.Crimson, Colors.SlateGray];

    /// <summary>Ticks at the powers of ten of a log10 axis, labelled with their values (1 KB, 1 MB for sizes).</summary>
    private static void LogTicks(ScottPlot.IAxis axis, string label, bool bytes)
    {
        axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = value => Label(Math.Pow(10, value), bytes),
        };
        axis.Label.Text = label;
    }

    private static string Label(double value, bool bytes) => bytes
        ? value switch { >= 1e9 => $"{value / 1e9:0.#} GB", >= 1e6 => $"{value / 1e6:0.#} MB", >= 1e3 => $"{value / 1e3:0.#} KB", _ => $"{value:0} B" }
        : value switch { >= 1e6 => $"{value / 1e6:0.#}M", >= 1e3 => $"{value / 1e3:0.#}k", >= 1 => $"{value:0}", _ => $"{value:0.###}" };

    private static string Save(Plot plot, string folder, string name)
    {
        var path = Path.Combine(folder, name + ".png");
        plot.SavePng(path, Width, Height);
        return path;
    }
}
