using System.Diagnostics;

namespace Derecho.Testing;

/// <summary>
/// Hosts on one machine, for the integration tests and the fault suite: n network namespaces, each with a veth pair
/// whose outer end is on one bridge, addresses 10.S.0.1..n; the bridge itself is 10.S.0.254, so the test process
/// reaches every host. Cutting a host downs its outer veth (a real partition, not a simulation); a slow link is a
/// token bucket (tc tbf) on it. The subnet S and the names' prefix are the caller's, so suites running at once do
/// not share them. Needs root and iproute2; <see cref="Unavailable"/> says why not when they are missing.
/// </summary>
internal sealed class NetworkNamespaces : IDisposable
{
    private readonly string _prefix;
    private readonly string _subnet;
    private readonly int _count;

    /// <param name="count">Hosts to make.</param>
    /// <param name="prefix">Start of every interface and namespace name (at most 6 characters: names are 15 at most).</param>
    /// <param name="subnet">The second octet of the hosts' addresses.</param>
    public NetworkNamespaces(int count, string prefix, int subnet)
    {
        _count = count;
        _prefix = prefix;
        _subnet = $"10.{subnet}.0";
        try
        {
            Dispose(); // leftovers of an earlier process with the same prefix
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

    /// <summary>Why namespaces cannot be made here, or null when they can.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces need Linux";
        if (Environment.UserName != "root") return "network namespaces need root (this runs as " + Environment.UserName + ")";
        if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip")) return "iproute2 ('ip') is not installed";
        return null;
    }

    /// <summary>The test process's own address, on the bridge.</summary>
    public string HostAddress => $"{_subnet}.254";

    public string Namespace(int i) => $"{_prefix}n{i}";

    public string Address(int i) => $"{_subnet}.{i + 1}";

    /// <summary>Disconnects host <paramref name="i"/> from every other (and from the test process).</summary>
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

    private string Bridge => $"{_prefix}br";

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
