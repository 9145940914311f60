using System.Diagnostics;

namespace Derecho.Tests.Support;

/// <summary>Runs the <c>derecho</c> CLI (Derecho.Cli, built by this test project) as a process and collects what it printed.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
    }

    public static string DllPath => Path.Combine(Repository.Root, "Derecho.Cli", "bin", Repository.Configuration, "net10.0", "derecho.dll");

    public static async Task<Result> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(DllPath);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"derecho {string.Join(' ', arguments)} did not exit within 90 s; it printed: {await output}{await error}");
        }
        return new Result(process.ExitCode, await output, await error);
    }
}
