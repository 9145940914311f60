using Derecho.Persistence;

namespace Derecho.Fuzz.Targets;

/// <summary>
/// A log whose one segment file holds the input: opening it recovers (verifies, truncates a torn tail or
/// reports corruption), then every record is read back. LogCorruptedException is the documented refusal.
/// </summary>
internal static class LogTarget
{
    private static int _runs;

    public static void Recover(ReadOnlySpan<byte> input)
    {
        // A folder per run: the replay tests call targets from several threads.
        var directory = Path.Combine(Path.GetTempPath(), $"derecho-fuzz-log-{Environment.ProcessId}-{Interlocked.Increment(ref _runs)}");
        Directory.CreateDirectory(directory);
        try
        {
            File.WriteAllBytes(Path.Combine(directory, "00000001.log"), input);
            using var log = new PersistentLog(directory);
            foreach (var _ in log.ReadAfter(long.MinValue)) { }
        }
        catch (LogCorruptedException)
        {
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
