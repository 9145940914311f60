using System.Collections.Concurrent;
using System.Diagnostics;

namespace Derecho.Tests.Support;

/// <summary>A member running as its own OS process (the Counter sample in member mode), with its output captured.</summary>
internal sealed class MemberProcess : IDisposable
{
    private readonly Process _process;

    private MemberProcess(Process process) => _process = process;

    public ConcurrentQueue<string> Output { get; } = new();

    public int Id { get; private init; }

    public static MemberProcess Start(int id, int[] ports, int calls, string faults = "", string? networkNamespace = null)
    {
        var command = $"\"{CounterSample}\" --member {id} --ports {string.Join(',', ports)} --calls {calls} {faults}";
        var info = networkNamespace is null
            ? new ProcessStartInfo("dotnet", command)
            : new ProcessStartInfo("ip", $"netns exec {networkNamespace} dotnet {command}");
        info = new ProcessStartInfo(info.FileName, info.Arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start member process");
        var member = new MemberProcess(process) { Id = id };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) member.Output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) member.Output.Enqueue("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return member;
    }

    /// <summary>Waits for exit; returns the exit code, or throws with the captured output on timeout.</summary>
    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            _process.WaitForExit(); // drains the redirected output
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"member {Id} did not exit within {timeout}; output:\n{string.Join('\n', Output)}");
        }
    }

    /// <summary>Waits until a line containing <paramref name="fragment"/> was printed.</summary>
    public Task WaitForLine(string fragment, int timeoutSeconds = 120) =>
        Eventually.True(() => Output.Any(l => l.Contains(fragment, StringComparison.Ordinal)), $"member {Id} to print '{fragment}'", timeoutSeconds);

    /// <summary>SIGKILL from outside: no cleanup, nothing flushed.</summary>
    public void Kill() => _process.Kill();

    public string? LineStartingWith(string prefix) => Output.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    /// <summary>Counter.dll built beside this test assembly's configuration (the test project builds it first).</summary>
    private static string CounterSample
    {
        get
        {
            var path = Path.Combine(Repository.Root, "samples", "Counter", "bin", Repository.Configuration, "net10.0", "Counter.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("build samples/Counter first", path);
        }
    }
}
