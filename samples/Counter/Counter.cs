using Derecho.Rpc;
using MemoryPack;

namespace Derecho.Samples.Counter;

/// <summary>
/// A counter replicated by state machine replication: every replica applies the same adds in the same order.
/// [MemoryPackable] gives it state transfer: a member that joins receives the fields marked [MemoryPackInclude].
/// </summary>
[Replicated]
[MemoryPackable]
public partial class Counter
{
    [MemoryPackInclude] private long _value;
    [MemoryPackInclude] private long _calls;
    [MemoryPackInclude] private ulong _history = 14695981039346656037UL;

    /// <summary>Adds <paramref name="delta"/> on behalf of <paramref name="caller"/>; returns the new value.</summary>
    [Ordered]
    public long Add(int caller, long delta)
    {
        _value += delta;
        _calls++;
        // Fold the call into a hash of the delivery order: equal hashes mean equal sequences.
        _history = (_history ^ (ulong)(uint)caller) * 1099511628211UL;
        _history = (_history ^ (ulong)delta) * 1099511628211UL;
        return _value;
    }

    /// <summary>Resets the counter; an ordered call without a result.</summary>
    [Ordered]
    public void Reset() => _value = 0;

    /// <summary>The replica's state, read on one member.</summary>
    [P2PCallable]
    public CounterState Read() => new(_value, _calls, _history);

    /// <summary>Current value (read the local replica only when the group is not delivering).</summary>
    [MemoryPackIgnore] public long Value => _value;

    /// <summary>Calls applied.</summary>
    [MemoryPackIgnore] public long Calls => _calls;

    /// <summary>Hash of the sequence of calls applied.</summary>
    [MemoryPackIgnore] public ulong History => _history;
}

/// <summary>What <see cref="Counter.Read"/> returns.</summary>
[MemoryPackable]
public partial record CounterState(long Value, long Calls, ulong History);
