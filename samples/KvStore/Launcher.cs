using System.Net;
using System.Net.Sockets;
using Derecho.Security;

namespace Derecho.Samples.KvStore;

/// <summary>
/// The demo: 6 member processes on loopback (2 shards x 3 replicas), a client workload in a 7th process,
/// then every member shuts down together. Exit code 0 when the client saw every put acknowledged by every
/// replica, read every value back, and every shard's replicas ended identical. With --tls every connection
/// uses mutual TLS with a throwaway certificate authority made for the run (a certificate per member and one
/// for the client, which only the two replicated types admit).
/// </summary>
internal static class Launcher
{
    public const int Members = 6;

    public static async Task<int> RunAsync(string[] args)
    {
        var ports = Enumerable.Range(0, Members).Select(_ => FreePort()).ToArray();
        var data = Path.Combine(Path.GetTempPath(), $"derecho-kvstore-{Environment.ProcessId}");
        var tls = args.Contains("--tls") ? Path.Combine(data, "tls") : null;
        if (tls is not null) DerechoCertificates.WriteFolder(tls, "derecho-kvstore-demo", Members, [ClientArguments.ClientName], TimeSpan.FromDays(1));
        args = args.Where(a => a != "--tls").ToArray();
        Console.WriteLine($"Starting {Members} members (2 shards x 3 replicas) on 127.0.0.1 ports {string.Join(", ", ports)}; logs under {data}" +
                          (tls is null ? "" : $"; mutual TLS, certificates in {tls}"));
        var members = new List<Child>();
        try
        {
            for (var id = 0; id < Members; id++) members.Add(Child.Start($"member {id}", MemberCommandLine(id, ports, data, tls)));
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            foreach (var member in members) await member.WaitForLineAsync("READY", timeout.Token);

            var client = Child.Start("client", new ClientArguments(Enumerable.Range(0, Members).Select(id => (id, $"127.0.0.1:{ports[id]}")).ToList(), TlsDirectory: tls).ToCommandLine() +
                                               string.Concat(args.Select(a => " " + a)));
            await client.Process.WaitForExitAsync(timeout.Token);
            var clientExit = client.Process.ExitCode;

            foreach (var member in members) await member.Process.StandardInput.WriteLineAsync("shutdown");
            foreach (var member in members) await member.Process.WaitForExitAsync(timeout.Token);
            var failedMembers = members.Where(m => m.Process.ExitCode != 0).Select(m => $"{m.Name} (exit {m.Process.ExitCode})").ToList();
            if (failedMembers.Count > 0) Console.WriteLine($"Members failed: {string.Join(", ", failedMembers)}");
            Console.WriteLine(clientExit == 0 && failedMembers.Count == 0
                ? "KvStore demo passed: every put acknowledged by all replicas of its shard, every get matched, replicas agree"
                : $"KvStore demo FAILED (client exit {clientExit})");
            return clientExit == 0 && failedMembers.Count == 0 ? 0 : 1;
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("Timed out waiting for the members or the client");
            return 1;
        }
        finally
        {
            foreach (var member in members) member.Dispose();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>A member's settings, as configuration keys on its command line.</summary>
    public static string MemberCommandLine(int id, int[] ports, string data, string? tls = null) =>
        $"--member --Derecho:MyId={id} --Derecho:DataDirectory={data} " +
        string.Join(' ', ports.Select((port, i) => $"--Derecho:Members:{i}:Id={i} --Derecho:Members:{i}:Endpoint=127.0.0.1:{port}")) +
        (tls is null ? "" : TlsArguments(DerechoCertificates.MemberTls(tls, id)) +
            $" --Derecho:AuthorizedClients:{ClientArguments.ClientName}:0=KvStore --Derecho:AuthorizedClients:{ClientArguments.ClientName}:1=Tally");

    /// <summary>A member's TLS settings as configuration keys.</summary>
    public static string TlsArguments(TlsOptions tls) =>
        $" --Derecho:Tls:CertificatePath={tls.CertificatePath} --Derecho:Tls:KeyPath={tls.KeyPath} --Derecho:Tls:TrustedCaPath={tls.TrustedCaPath}";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
