using Derecho.Persistence;
using Derecho.Rpc;

namespace Derecho.Tests.Support;

/// <summary>A replicated type with a persistent, versioned total, for in-process persistence tests.</summary>
[Replicated]
public partial class Journal
{
    private readonly Persistent<long> _total;

    public Journal(IReplicaContext context) => _total = context.Persistent<long>("total");

    [Ordered]
    public long Add(long amount) => _total.Update(t => t + amount);

    [P2PCallable]
    public long TotalAtTime(DateTime time) => _total.TryGetAtTime(time, out var value) ? value.Value : -1;

    /// <summary>The latest version and total.</summary>
    [P2PCallable]
    public long[] Latest() => [_total.CurrentVersion, _total.Current];

    /// <summary>The total at <paramref name="version"/> (the newest version at or before it), or -1 if none is kept.</summary>
    [P2PCallable]
    public long TotalAt(long version) => _total.TryGetAt(version, out var value) ? value.Value : -1;

    /// <summary>Every version kept: [version, ticks, total] each.</summary>
    [P2PCallable]
    public List<long[]> History() => _total.Range(long.MinValue, long.MaxValue).Select(v => new[] { v.Version, v.Timestamp.Ticks, v.Value }).ToList();

    [P2PCallable]
    public List<long> VersionTicks() => _total.Range(long.MinValue, long.MaxValue).Select(v => v.Timestamp.Ticks).ToList();
}
