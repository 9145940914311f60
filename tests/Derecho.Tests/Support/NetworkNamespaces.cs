using System.Diagnostics;

namespace Derecho.Tests.Support;

/// <summary>
/// Test hosts on one machine: n network namespaces, each with a veth pair whose outer end is on one
/// bridge, addresses 10.77.0.1..n. Cutting a host downs its outer veth: a real partition, not a simulation.
/// Needs root and iproute2; <see cref="Unavailable"/> says why not when they are missing.
/// </summary>
internal sealed class NetworkNamespaces : IDisposable
{
    private readonly string _prefix = $"drc{Environment.ProcessId % 10000}";
    private readonly int _count;

    public NetworkNamespaces(int count)
    {
        _count = count;
        try
        {
            Ip($"link add {Bridge} type bridge");
            Ip($"link set {Bridge} up");
            for (var i = 0; i < count; i++)
            {
                Ip($"netns add {Namespace(i)}");
                Ip($"link add {Outer(i)} type veth peer name {Inner(i)}");
                Ip($"link set {Inner(i)} netns {Namespace(i)}");
                Ip($"link set {Outer(i)} master {Bridge}");
                Ip($"link set {Outer(i)} up");
                Ip($"netns exec {Namespace(i)} ip addr add {Address(i)}/24 dev {Inner(i)}");
                Ip($"netns exec {Namespace(i)} ip link set {Inner(i)} up");
                Ip($"netns exec {Namespace(i)} ip link set lo up");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private string Bridge => $"{_prefix}br";

    /// <summary>Why namespaces cannot be made here, or null when they can.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces need Linux";
        if (Environment.UserName != "root") return "network namespaces need root (this test runs as " + Environment.UserName + ")";
        if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip")) return "iproute2 ('ip') is not installed";
        return null;
    }

    public string Namespace(int i) => $"{_prefix}n{i}";

    public string Address(int i) => $"10.77.0.{i + 1}";

    /// <summary>Disconnects host <paramref name="i"/> from the others.</summary>
    public void Cut(int i) => Ip($"link set {Outer(i)} down");

    public void Dispose()
    {
        for (var i = 0; i < _count; i++)
        {
            TryIp($"link del {Outer(i)}");
            TryIp($"netns del {Namespace(i)}");
        }
        TryIp($"link del {Bridge}");
    }

    private string Outer(int i) => $"{_prefix}o{i}";

    private string Inner(int i) => $"{_prefix}i{i}";

    private static void Ip(string arguments)
    {
        var (code, output) = Run(arguments);
        if (code != 0) throw new InvalidOperationException($"ip {arguments} failed ({code}): {output}");
    }

    private static void TryIp(string arguments) => Run(arguments);

    private static (int, string) Run(string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("ip", arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var output = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }
}
