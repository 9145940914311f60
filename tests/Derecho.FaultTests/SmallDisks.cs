using System.Diagnostics;

namespace Derecho.FaultTests;

/// <summary>
/// A disk of its own per member: <c>data/member-i</c> is a tmpfs of <see cref="SizeMegabytes"/> MB (needs root). The
/// disk-full fault fills one with a ballast file until writes fail with ENOSPC; freeing it deletes the ballast.
/// </summary>
internal sealed class SmallDisks : IDisposable
{
    public const int SizeMegabytes = 256;

    private readonly string[] _paths;

    public SmallDisks(string data, int members)
    {
        _paths = Enumerable.Range(0, members).Select(i => Path.Combine(data, $"member-{i}")).ToArray();
        foreach (var path in _paths)
        {
            Directory.CreateDirectory(path);
            if (Run("mount", $"-t tmpfs -o size={SizeMegabytes}m tmpfs {path}") != 0)
            {
                Dispose();
                throw new InvalidOperationException($"mount -t tmpfs on {path} failed");
            }
        }
    }

    /// <summary>Writes a ballast file into member <paramref name="i"/>'s disk until it is full.</summary>
    public void Fill(int i)
    {
        var chunk = new byte[1 << 20];
        using var ballast = new FileStream(Ballast(i), FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0); // unbuffered: nothing left to flush at Dispose
        try
        {
            while (true) ballast.Write(chunk);
        }
        catch (IOException) { } // no space left: that was the point
    }

    public void Free(int i) => File.Delete(Ballast(i));

    public void Dispose()
    {
        foreach (var path in _paths) Run("umount", $"-l {path}");
    }

    private string Ballast(int i) => Path.Combine(_paths[i], "ballast");

    private static int Run(string tool, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.WaitForExit();
        return process.ExitCode;
    }
}
