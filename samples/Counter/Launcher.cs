using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Derecho.Samples.Counter;

/// <summary>Starts the members as child processes, relays their output and checks that their final states agree.</summary>
internal static class Launcher
{
    private const int Members = 3;

    public static async Task<int> RunGroupAsync(string[] args)
    {
        var calls = args.Length == 2 && args[0] == "--calls" ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000;
        var ports = Enumerable.Range(0, Members).Select(_ => FreePort()).ToArray();
        Console.WriteLine($"Starting {Members} members on 127.0.0.1 ports {string.Join(", ", ports)}; each makes {calls} ordered calls");

        var finals = new string?[Members];
        var children = new List<Process>();
        try
        {
            for (var id = 0; id < Members; id++)
            {
                var child = Start(new MemberArguments(id, ports, calls));
                var memberId = id;
                child.OutputDataReceived += (_, e) =>
                {
                    if (e.Data is null) return;
                    Console.WriteLine($"[member {memberId}] {e.Data}");
                    if (e.Data.StartsWith("FINAL ", StringComparison.Ordinal)) finals[memberId] = e.Data[(e.Data.IndexOf("value=", StringComparison.Ordinal))..];
                };
                child.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[member {memberId}] {e.Data}"); };
                child.BeginOutputReadLine();
                child.BeginErrorReadLine();
                children.Add(child);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            foreach (var child in children) await child.WaitForExitAsync(timeout.Token);
            var failed = children.Select((c, i) => (c.ExitCode, i)).Where(x => x.ExitCode != 0).ToList();
            if (failed.Count > 0)
            {
                Console.WriteLine($"Members {string.Join(", ", failed.Select(f => $"{f.i} (exit {f.ExitCode})"))} failed");
                return 1;
            }
            if (finals.Any(f => f is null) || finals.Distinct().Count() != 1)
            {
                Console.WriteLine("Replicas DISAGREE:");
                for (var i = 0; i < Members; i++) Console.WriteLine($"  member {i}: {finals[i] ?? "(no final state)"}");
                return 1;
            }
            Console.WriteLine($"All {Members} replicas agree: {finals[0]}");
            return 0;
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("Timed out waiting for the members");
            return 1;
        }
        finally
        {
            foreach (var child in children)
            {
                if (!child.HasExited) child.Kill(entireProcessTree: true);
                child.Dispose();
            }
        }
    }

    private static Process Start(MemberArguments member)
    {
        var self = typeof(Launcher).Assembly.Location;
        var host = Environment.ProcessPath ?? "dotnet";
        var usesDotnetHost = Path.GetFileNameWithoutExtension(host) == "dotnet";
        var info = new ProcessStartInfo(host, (usesDotnetHost ? $"\"{self}\" " : "") + member.ToCommandLine())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        return Process.Start(info) ?? throw new InvalidOperationException("could not start a member process");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
