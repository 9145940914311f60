using Derecho.Persistence;
using Derecho.Rpc;

namespace Derecho.Tests.Support;

/// <summary>Two persistent fields that one ordered call always changes together: their sum is always zero.</summary>
[Replicated]
public partial class Accounts
{
    private readonly Persistent<long> _checking;
    private readonly Persistent<long> _savings;
    private readonly Volatile<long> _transfers;

    public Accounts(IReplicaContext context)
    {
        _checking = context.Persistent<long>("checking");
        _savings = context.Persistent<long>("savings");
        _transfers = context.Volatile<long>("transfers");
    }

    [Ordered]
    public long Transfer(long amount)
    {
        _transfers.Update(n => n + 1);
        OrderedContext.Notify("transfer", amount);
        _checking.Update(c => c - amount);
        return _savings.Update(s => s + amount);
    }

    /// <summary>Changes every field and notifies as <see cref="Transfer"/> does, then throws: none of it may remain.</summary>
    [Ordered]
    public long TransferThenFail(long amount)
    {
        Transfer(amount);
        _checking.Update(c => c - 1);
        throw new InvalidOperationException($"transfer of {amount} refused after the fact");
    }

    /// <summary>Latest (version, value) of both fields.</summary>
    [P2PCallable]
    public long[] Latest() => [_checking.CurrentVersion, _checking.Current, _savings.CurrentVersion, _savings.Current];

    /// <summary>Transfers applied, and how many versions each field holds.</summary>
    [P2PCallable]
    public long[] Counts() => [_transfers.Current, _transfers.VersionCount, _checking.VersionCount, _savings.VersionCount];
}
