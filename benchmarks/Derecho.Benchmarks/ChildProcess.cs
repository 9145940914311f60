using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

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

    /// <summary>Ports the OS just handed out, released for the members to bind.</summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
