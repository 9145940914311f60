using Derecho.Persistence;
using Derecho.Rpc;

namespace Derecho.Tests.Support;

/// <summary>Two persistent fields that one ordered call always changes together: their sum is always zero.</summary>
[Replicated]
public partial class Accounts
{
    private readonly Persistent<long> _checking;
    private readonly Persistent<long> _savings;

    public Accounts(IReplicaContext context)
    {
        _checking = context.Persistent<long>("checking");
        _savings = context.Persistent<long>("savings");
    }

    [Ordered]
    public long Transfer(long amount)
    {
        _checking.Update(c => c - amount);
        return _savings.Update(s => s + amount);
    }

    /// <summary>Latest (version, value) of both fields.</summary>
    [P2PCallable]
    public long[] Latest() => [_checking.CurrentVersion, _checking.Current, _savings.CurrentVersion, _savings.Current];
}
