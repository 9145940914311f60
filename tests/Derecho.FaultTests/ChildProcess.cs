using System.Collections.Concurrent;
using System.Diagnostics;

namespace Derecho.FaultTests;

/// <summary>This assembly started again as a member or client process, output captured (after tests/Derecho.Tests/Support/MemberProcess.cs).</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;

    private ChildProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public ConcurrentQueue<string> Output { get; } = new();

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public int Pid => _process.Id;

    /// <summary>Starts this assembly with <paramref name="arguments"/>, in network namespace <paramref name="networkNamespace"/> if given.</summary>
    public static ChildProcess Start(string name, string arguments, IDictionary<string, string>? environment = null, string? networkNamespace = null)
    {
        var command = $"\"{typeof(ChildProcess).Assembly.Location}\" {arguments}";
        // "ip netns exec" execs the command, so the process id is the member's own (signals reach it).
        var info = new ProcessStartInfo(networkNamespace is null ? "dotnet" : "ip", networkNamespace is null ? command : $"netns exec {networkNamespace} dotnet {command}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.Environment["DOTNET_TieredPGO"] = "0";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {name}");
        var child = new ChildProcess(process, name);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) child.Output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) child.Output.Enqueue("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    public bool Printed(string fragment) => Output.Any(l => l.Contains(fragment, StringComparison.Ordinal));

    public string? LastLineStartingWith(string prefix) => Output.LastOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));

    public async Task<bool> WaitForLineAsync(string fragment, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!Printed(fragment))
        {
            if (deadline.Elapsed > timeout || (_process.HasExited && !Printed(fragment))) return Printed(fragment);
            await Task.Delay(20);
        }
        return true;
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            _process.WaitForExit();
            return true;
        }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>SIGKILL: no cleanup, nothing flushed.</summary>
    public void Kill()
    {
        try { _process.Kill(); } catch (InvalidOperationException) { }
    }

    /// <summary>SIGSTOP (frozen, connections stay open) or SIGCONT.</summary>
    public void Signal(bool stop)
    {
        using var kill = Process.Start("kill", $"-{(stop ? "STOP" : "CONT")} {_process.Id}");
        kill.WaitForExit();
    }

    public void Send(string line)
    {
        try
        {
            _process.StandardInput.WriteLine(line);
            _process.StandardInput.Flush();
        }
        catch (IOException) { }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                Signal(stop: false);
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
