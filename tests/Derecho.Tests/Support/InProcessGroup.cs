using Derecho.Hosting;
using Derecho.Layout;
using Derecho.Membership;
using Derecho.Replication;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Support;

/// <summary>Members hosting <see cref="Register"/> (or a given layout), each a full DerechoGroup on loopback, in this process.</summary>
internal sealed class InProcessGroup : IAsyncDisposable
{
    private InProcessGroup(DerechoGroup[] members, int[] ports)
    {
        Members = members;
        Ports = ports;
    }

    public DerechoGroup[] Members { get; }

    public int[] Ports { get; }

    public static DerechoOptions Options(int myId, int[] ports) => new()
    {
        MyId = myId,
        Members = ports.Select((port, id) => new MemberOptions { Id = id, Endpoint = $"127.0.0.1:{port}" }).ToList(),
        RingBytes = 1 << 20,
        MaxPayloadBytes = 64 << 10,
        DataDirectory = GroupDirectory(ports),
    };

    /// <summary>
    /// Each group its own data directory (members keep their views there): a test's group must not restart
    /// from the views of another test's group. Keyed by the group's ports, so a joiner of the group shares it.
    /// </summary>
    public static string GroupDirectory(int[] ports) =>
        Path.Combine(Path.GetTempPath(), "derecho-tests", $"{Environment.ProcessId}-{string.Join('-', ports)}");

    public static async Task<InProcessGroup> StartAsync(int size = 3, ILoggerFactory? loggers = null, Action<LayoutBuilder>? layout = null,
        Action<DerechoOptions>? configure = null)
    {
        var ports = Support.Ports.Free(size);
        DerechoOptions Configured(int id)
        {
            var options = Options(id, ports);
            configure?.Invoke(options);
            return options;
        }
        var members = await Task.WhenAll(Enumerable.Range(0, size).Select(id =>
            DerechoGroup.JoinAsync(Configured(id), layout ?? (l => l.Subgroup(_ => new Register())), loggers)));
        return new InProcessGroup(members, ports);
    }

    /// <summary>Starts member <paramref name="id"/> on a fresh port (or <paramref name="port"/>) and has it join the running group.</summary>
    public Task<DerechoGroup> JoinNewMemberAsync(int id, ILoggerFactory? loggers = null, Action<LayoutBuilder>? layout = null, Action<DerechoOptions>? configure = null,
        int? port = null)
    {
        var options = Options(id, Ports);
        options.Members.Add(new MemberOptions { Id = id, Endpoint = $"127.0.0.1:{port ?? Support.Ports.Free(1)[0]}" });
        options.Join = true;
        configure?.Invoke(options);
        return DerechoGroup.JoinAsync(options, layout ?? (l => l.Subgroup(_ => new Register())), loggers);
    }

    /// <summary>Options for an external client of this group: every member a contact, the group's ring and payload sizes.</summary>
    public Derecho.Client.DerechoClientOptions ClientOptions() => new()
    {
        Contacts = Ports.Select((port, id) => new MemberOptions { Id = id, Endpoint = $"127.0.0.1:{port}" }).ToList(),
        RingBytes = 1 << 20,
        MaxPayloadBytes = 64 << 10,
        RequestTimeout = TimeSpan.FromSeconds(30),
    };

    public async ValueTask DisposeAsync() => await Task.WhenAll(Members.Select(m => m.ShutdownAsync()));
}
