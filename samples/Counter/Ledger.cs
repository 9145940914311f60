using Derecho.Persistence;
using Derecho.Rpc;

namespace Derecho.Samples.Counter;

/// <summary>
/// A replicated running total kept in a <see cref="Persistent{T}"/>: every ordered Add is a new version,
/// durable on disk, readable by version or by time, and recovered from the log after a restart.
/// </summary>
[Replicated]
public partial class Ledger
{
    private readonly Persistent<long> _total;

    public Ledger(IReplicaContext context) => _total = context.Persistent<long>("total");

    /// <summary>The versioned total (read it by version or time; it never blocks the delivery thread).</summary>
    public Versioned<long> Total => _total;

    [Ordered]
    public long Add(long amount) => _total.Update(total => total + amount);

    [P2PCallable]
    public long Read() => _total.Current;
}
