using System.Collections.Concurrent;
using System.Diagnostics;

namespace Derecho.Tests.Support;

/// <summary>A member (or client) running as its own OS process (a sample in member mode), with its output captured.</summary>
internal sealed class MemberProcess : IDisposable
{
    private readonly Process _process;

    private MemberProcess(Process process) => _process = process;

    public ConcurrentQueue<string> Output { get; } = new();

    public int Id { get; private init; }

    public static MemberProcess Start(int id, int[] ports, int calls, string faults = "", string? networkNamespace = null) =>
        StartSample("Counter", id, $"--member {id} --ports {string.Join(',', ports)} --calls {calls} {faults}", networkNamespace);

    /// <summary>Starts a sample (built beside the tests) with <paramref name="arguments"/>; standard input stays open for commands.</summary>
    public static MemberProcess StartSample(string sample, int id, string arguments, string? networkNamespace = null)
    {
        var command = $"\"{SamplePath(sample)}\" {arguments}";
        var info = networkNamespace is null
            ? new ProcessStartInfo("dotnet", command)
            : new ProcessStartInfo("ip", $"netns exec {networkNamespace} dotnet {command}");
        info = new ProcessStartInfo(info.FileName, info.Arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
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
    public async Task WaitForLine(string fragment, int timeoutSeconds = 120)
    {
        try { await Eventually.True(() => Output.Any(l => l.Contains(fragment, StringComparison.Ordinal)), $"member {Id} to print '{fragment}'", timeoutSeconds); }
        catch (TimeoutException e) { throw new TimeoutException($"{e.Message}; its output:\n{string.Join('\n', Output.TakeLast(60))}", e); }
    }

    /// <summary>SIGKILL from outside: no cleanup, nothing flushed.</summary>
    public void Kill() => _process.Kill();

    /// <summary>Freezes (SIGSTOP) or resumes (SIGCONT) the process: it stays connected but does nothing.</summary>
    public void Signal(bool stop)
    {
        using var kill = Process.Start("kill", $"-{(stop ? "STOP" : "CONT")} {_process.Id}");
        kill.WaitForExit();
    }

    /// <summary>Writes a command line to the process's standard input.</summary>
    public void Send(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    public string? LineStartingWith(string prefix) => Output.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    /// <summary>A sample's dll built in this test assembly's configuration (the test project builds the samples first).</summary>
    private static string SamplePath(string sample)
    {
        var path = Path.Combine(Repository.Root, "samples", sample, "bin", Repository.Configuration, "net10.0", $"{sample}.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"build samples/{sample} first", path);
    }
}
