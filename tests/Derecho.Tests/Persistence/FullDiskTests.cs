using System.Diagnostics;
using Derecho.Errors;
using Derecho.Hosting;
using Derecho.Persistence;
using Derecho.Rpc;
using Derecho.Tests.Support;

namespace Derecho.Tests.Persistence;

/// <summary>A replica whose newest write is kept durably: each call logs a blob.</summary>
[Replicated]
public partial class Tape(IReplicaContext context)
{
    private readonly Persistent<byte[]> _last = context.Persistent<byte[]>("last", []);

    [Ordered]
    public long Write(byte[] data)
    {
        _last.Set(data);
        return _last.CurrentVersion;
    }

    [P2PCallable]
    public long Version() => _last.CurrentVersion;
}

/// <summary>
/// Storage faults: one member's data directory is a 2 MB tmpfs that fills up under durable writes of 16 KB. Tried:
/// writing on until it is full. That member must stop (fail-stop: its log cannot be written, so it can never again
/// acknowledge an update as durable) with the reason, the others must remove it and go on, and every write that was
/// acknowledged must be at every survivor.
/// </summary>
public class FullDiskTests
{
    [SkippableFact]
    public async Task A_member_whose_disk_fills_stops_and_the_others_keep_every_acknowledged_write()
    {
        Skip.If(!OperatingSystem.IsLinux() || Environment.UserName != "root", "mounting a small tmpfs needs Linux and root");
        var tiny = Directory.CreateTempSubdirectory("derecho-full-disk-");
        Skip.If(Run("mount", $"-t tmpfs -o size=2m tmpfs {tiny.FullName}") != 0, "mount -t tmpfs failed");
        var ports = Ports.Free(3);
        var log = new CapturingLoggerProvider();
        DerechoGroup[] members = [];
        try
        {
            members = await Task.WhenAll(Enumerable.Range(0, 3).Select(id =>
            {
                var options = InProcessGroup.Options(id, ports);
                if (id == 2) options.DataDirectory = tiny.FullName;
                return DerechoGroup.JoinAsync(options, l => l.Subgroup(c => new Tape(c)), id == 2 ? log : null);
            }));
            var tape = members[0].Subgroup<Tape>();
            var blob = new byte[16 << 10];
            var acknowledged = -1L;
            var clock = Stopwatch.StartNew();
            while (!members[2].Failed.IsCompleted && clock.Elapsed < TimeSpan.FromMinutes(2))
            {
                Random.Shared.NextBytes(blob);
                try
                {
                    var replies = await tape.Ordered.Write(blob).WaitAsync(TimeSpan.FromSeconds(60));
                    acknowledged = Math.Max(acknowledged, replies.Max(r => r.Value));
                }
                catch (DerechoException) { } // the call member 2 was part of when it stopped: not acknowledged
            }

            var stopped = await members[2].Failed.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Contains("cannot be written", string.Join('\n', log.Entries.Select(e => e.Message)));
            Assert.False(string.IsNullOrEmpty(stopped.Reason));
            await Eventually.True(() => members[0].View.Members.SequenceEqual([0, 1]) && members[1].View.Members.SequenceEqual([0, 1]), "the survivors to remove member 2");

            // Every acknowledged write is at both survivors, and they go on taking durable writes.
            Assert.True(acknowledged > 0, "no write was acknowledged before the disk filled");
            var after = await tape.Ordered.Write(blob).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal([0, 1], after.Select(r => r.MemberId).Order());
            foreach (var id in new[] { 0, 1 }) Assert.True(await tape.On(id).Version() >= acknowledged, $"member {id} lacks acknowledged version {acknowledged}");
        }
        finally
        {
            foreach (var member in members.Take(2)) await member.ShutdownAsync();
            if (members.Length == 3) await members[2].DisposeAsync();
            Run("umount", tiny.FullName);
            tiny.Delete(recursive: true);
        }
    }

    private static int Run(string tool, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.WaitForExit();
        return process.ExitCode;
    }
}
