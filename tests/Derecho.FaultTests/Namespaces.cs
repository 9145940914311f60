using System.Diagnostics;

namespace Derecho.FaultTests;

/// <summary>
/// Hosts on one machine (after tests/Derecho.Tests/Support/NetworkNamespaces.cs, with a prefix of its own): n
/// network namespaces, each with a veth pair whose outer end is on one bridge, addresses 10.S.0.1..n; the bridge
/// itself is 10.S.0.254, so this process reaches every host. S (80..229) comes from the process id, so two fault runs
/// at once (a long run and the CI run) do not share a subnet. Cutting a host downs its outer veth (a real
/// partition); a slow link is a token bucket (tc tbf) on it. Needs root and iproute2.
/// </summary>
internal sealed class Namespaces : IDisposable
{
    private readonly string _prefix = $"drf{Environment.ProcessId % 10000}";
    private readonly int _count;

    public Namespaces(int count)
    {
        _count = count;
        try
        {
            Dispose(); // leftovers of an earlier process with the same id
            Ip($"link add {Bridge} type bridge");
            Ip($"addr add {HostAddress}/24 dev {Bridge}");
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

    private static readonly string Subnet = $"10.{80 + Environment.ProcessId % 150}.0";

    public static readonly string HostAddress = $"{Subnet}.254";

    private string Bridge => $"{_prefix}br";

    /// <summary>Why namespaces cannot be made here, or null when they can.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces need Linux";
        if (Environment.UserName != "root") return "network namespaces need root (this runs as " + Environment.UserName + ")";
        if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip")) return "iproute2 ('ip') is not installed";
        return null;
    }

    public string Namespace(int i) => $"{_prefix}n{i}";

    public static string Address(int i) => $"{Subnet}.{i + 1}";

    /// <summary>Disconnects host <paramref name="i"/> from every other (and from this process).</summary>
    public void Cut(int i) => Ip($"link set {Outer(i)} down");

    public void Heal(int i) => Ip($"link set {Outer(i)} up");

    /// <summary>Slows the link into host <paramref name="i"/> to <paramref name="rate"/> (tc tbf), or back to full speed.</summary>
    public void Slow(int i, string? rate)
    {
        if (rate is null) Tc($"qdisc del dev {Outer(i)} root");
        else Tc($"qdisc add dev {Outer(i)} root tbf rate {rate} burst 16kbit latency 200ms");
    }

    public void Dispose()
    {
        for (var i = 0; i < _count; i++)
        {
            Run("ip", $"link del {Outer(i)}");
            Run("ip", $"netns del {Namespace(i)}");
        }
        Run("ip", $"link del {Bridge}");
    }

    private string Outer(int i) => $"{_prefix}o{i}";

    private string Inner(int i) => $"{_prefix}i{i}";

    private static void Ip(string arguments) => Must("ip", arguments);

    private static void Tc(string arguments) => Must("tc", arguments);

    private static void Must(string tool, string arguments)
    {
        var (code, output) = Run(tool, arguments);
        if (code != 0) throw new InvalidOperationException($"{tool} {arguments} failed ({code}): {output}");
    }

    private static (int, string) Run(string tool, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var output = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }
}
