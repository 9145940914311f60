using System.Diagnostics;

namespace Derecho.Benchmarks;

/// <summary>Starts this benchmark program again as a child (one group member), output captured.</summary>
internal static class ChildProcess
{
    public static Process Start(string arguments, string mode = "--child")
    {
        var self = typeof(ChildProcess).Assembly.Location;
        var host = Environment.ProcessPath ?? "dotnet";
        var viaDotnet = Path.GetFileNameWithoutExtension(host) == "dotnet";
        var info = new ProcessStartInfo(host, (viaDotnet ? $"\"{self}\" " : "") + mode + " " + arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        return Process.Start(info) ?? throw new InvalidOperationException("could not start a benchmark member");
    }
}
