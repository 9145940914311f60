using System.Collections.Concurrent;
using System.Diagnostics;
using Derecho.Client;
using Derecho.Membership;
using Derecho.Samples.KvStore;

namespace Derecho.Benchmarks;

/// <summary>
/// The KvStore sample's members as processes of their own on loopback (<c>shards</c> x 3, data in a temporary folder),
/// ready when every one printed READY; killed and removed when disposed. Each member's "gc" answers are queued.
/// </summary>
internal sealed class KvMembers : IAsyncDisposable
{
    private readonly DirectoryInfo _data;

    private KvMembers(List<Process> processes, int[] ports, DirectoryInfo data, ConcurrentQueue<GcStats>[] gcLines, string? tls)
    {
        Processes = processes;
        Ports = ports;
        _data = data;
        GcLines = gcLines;
        Tls = tls;
    }

    public List<Process> Processes { get; }

    public int[] Ports { get; }

    public ConcurrentQueue<GcStats>[] GcLines { get; }

    private string? Tls { get; }

    public static KvMembers Start(int shards, string? tls)
    {
        var members = shards * 3;
        var ports = ChildProcess.FreePorts(members);
        var data = Directory.CreateTempSubdirectory("derecho-kv-bench-");
        var processes = new List<Process>();
        var gcLines = Enumerable.Range(0, members).Select(_ => new ConcurrentQueue<GcStats>()).ToArray();
        var started = new KvMembers(processes, ports, data, gcLines, tls);
        try
        {
            using var ready = new CountdownEvent(members);
            for (var id = 0; id < members; id++)
            {
                var arguments = $"--member --Derecho:MyId={id} --Derecho:DataDirectory={data.FullName} --KvStore:Shards={shards} --KvStore:Replicas=3 --Logging:LogLevel:Default=Warning " +
                                string.Join(' ', ports.Select((port, i) => $"--Derecho:Members:{i}:Id={i} --Derecho:Members:{i}:Endpoint=127.0.0.1:{port}"));
                if (tls is not null)
                {
                    var member = Security.DerechoCertificates.MemberTls(tls, id);
                    arguments += $" --Derecho:Tls:CertificatePath={member.CertificatePath} --Derecho:Tls:KeyPath={member.KeyPath} --Derecho:Tls:TrustedCaPath={member.TrustedCaPath}";
                }
                var process = Samples.Start("KvStore", arguments);
                var gcOf = gcLines[id];
                process.OutputDataReceived += (_, e) =>
                {
                    if (e.Data?.StartsWith("READY", StringComparison.Ordinal) == true) ready.Signal();
                    else if (e.Data is { } line && GcStats.TryParse(line, out var gc)) gcOf.Enqueue(gc);
                };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                processes.Add(process);
            }
            if (!ready.Wait(TimeSpan.FromMinutes(1))) throw new TimeoutException("the KvStore members did not start");
            return started;
        }
        catch
        {
            started.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>An external client of these members.</summary>
    public Task<DerechoClient> ConnectAsync(bool exactlyOnce = true) => DerechoClient.ConnectAsync(new DerechoClientOptions
    {
        Contacts = Ports.Select((port, id) => new MemberOptions { Id = id, Endpoint = $"127.0.0.1:{port}" }).ToList(),
        Tls = Tls is null ? null : Security.DerechoCertificates.ClientTls(Tls, BenchmarkCertificates.ClientName),
        ExactlyOnce = exactlyOnce,
    });

    /// <summary>Every member shuts down with the others (the barrier), then exits.</summary>
    public async Task ShutdownAsync()
    {
        foreach (var process in Processes) await process.StandardInput.WriteLineAsync("shutdown");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        foreach (var process in Processes) await process.WaitForExitAsync(timeout.Token);
    }

    public ValueTask DisposeAsync()
    {
        foreach (var process in Processes)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.Dispose();
        }
        _data.Delete(recursive: true);
        return ValueTask.CompletedTask;
    }
}
