using System.Globalization;

namespace Derecho.Samples.Counter;

/// <summary>
/// Command line of one member process: --member ID --ports P0,P1,P2 [--calls N], plus fault injection for
/// demos and tests: --die-after K (SIGKILL itself after K calls) and --die-during-view-change (SIGKILL
/// itself as soon as it sees a view change under way); --join makes it join the running group (a new
/// member, or a crashed one restarting) instead of forming it; --tls DIR runs with mutual TLS, with the
/// certificates in DIR (ca.pem, member-ID.pem, member-ID.key).
/// </summary>
internal sealed record MemberArguments(int MemberId, int[] Ports, int Calls, int DieAfter = 0, bool DieDuringViewChange = false, string[]? Hosts = null, bool Join = false, long? At = null,
    string? TlsDirectory = null)
{
    /// <summary>The TLS settings of --tls DIR, or null.</summary>
    public Derecho.Security.TlsOptions? Tls => TlsDirectory is null ? null : Derecho.Security.DerechoCertificates.MemberTls(TlsDirectory, MemberId);

    /// <summary>Endpoint of each member: its host (--hosts H0,H1,..., default 127.0.0.1) and port.</summary>
    public string Endpoint(int id) => $"{Hosts?[id] ?? "127.0.0.1"}:{Ports[id]}";

    public static MemberArguments Parse(string[] args)
    {
        int? member = null;
        int[]? ports = null;
        var calls = 1000;
        var dieAfter = 0;
        var dieDuringViewChange = false;
        var join = false;
        long? at = null;
        string[]? hosts = null;
        string? tls = null;
        for (var i = 0; i < args.Length; i += 2)
        {
            if (args[i] == "--die-during-view-change") { dieDuringViewChange = true; i--; continue; }
            if (args[i] == "--join") { join = true; i--; continue; }
            if (i + 1 >= args.Length) throw new ArgumentException($"option {args[i]} needs a value");
            switch (args[i])
            {
                case "--at": at = long.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--hosts": hosts = args[i + 1].Split(','); break;
                case "--tls": tls = args[i + 1]; break;
                case "--die-after": dieAfter = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--member": member = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--ports": ports = args[i + 1].Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--calls": calls = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (member is null || ports is null) throw new ArgumentException("usage: --member ID --ports P0,P1,... [--calls N]");
        if (hosts is not null && hosts.Length != ports.Length) throw new ArgumentException($"--hosts names {hosts.Length} hosts for {ports.Length} ports");
        return new MemberArguments(member.Value, ports, calls, dieAfter, dieDuringViewChange, hosts, join, at, tls);
    }

    public string ToCommandLine() => $"--member {MemberId} --ports {string.Join(',', Ports)} --calls {Calls}" +
        (DieAfter > 0 ? $" --die-after {DieAfter}" : "") + (DieDuringViewChange ? " --die-during-view-change" : "") +
        (Hosts is null ? "" : $" --hosts {string.Join(',', Hosts)}") + (Join ? " --join" : "") + (TlsDirectory is null ? "" : $" --tls {TlsDirectory}");
}
