using System.Diagnostics;

namespace Derecho.Samples;

/// <summary>A child process of this program whose output is relayed with a prefix and watched for marker lines.</summary>
internal sealed class Child : IDisposable
{
    private readonly List<string> _lines = new();
    private readonly SemaphoreSlim _newLine = new(0);

    private Child(string name, Process process)
    {
        Name = name;
        Process = process;
    }

    public string Name { get; }

    public Process Process { get; }

    public static Child Start(string name, string arguments)
    {
        var self = System.Reflection.Assembly.GetEntryAssembly()?.Location ?? throw new InvalidOperationException("no entry assembly");
        var host = Environment.ProcessPath ?? "dotnet";
        var usesDotnetHost = Path.GetFileNameWithoutExtension(host) == "dotnet";
        var process = Process.Start(new ProcessStartInfo(host, (usesDotnetHost ? $"\"{self}\" " : "") + arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"could not start {name}");
        var child = new Child(name, process);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[{name}] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits for a line starting with <paramref name="prefix"/>; fails if the process exits first.</summary>
    public async Task<string> WaitForLineAsync(string prefix, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_lines)
            {
                var line = _lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
                if (line is not null) return line;
            }
            if (Process.HasExited) throw new InvalidOperationException($"{Name} exited (code {Process.ExitCode}) before printing {prefix}");
            await _newLine.WaitAsync(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        Console.WriteLine($"[{Name}] {line}");
        lock (_lines) _lines.Add(line);
        _newLine.Release();
    }

    public void Dispose()
    {
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        Process.Dispose();
    }
}
