using Derecho.Rpc;

namespace Derecho.Tests.Support;

/// <summary>
/// A replicated log whose ordered <see cref="Hold"/> keeps its member's protocol thread busy: until the test opens
/// the gate, or for the given time. It stands in for a slow application handler, or a receiver that stopped.
/// </summary>
// No member ever joins a group of these (the gate is a test's remote control, not state), so it needs no state transfer.
#pragma warning disable DER0009
[Replicated]
public partial class Turnstile
#pragma warning restore DER0009
{
    private readonly List<long> _applied = new();
    private int _holding;

    /// <summary>While closed, <see cref="Hold"/> waits (up to its timeout). Open at first.</summary>
    public ManualResetEventSlim Gate { get; } = new(initialState: true);

    /// <summary>How many <see cref="Hold"/> calls this replica has entered.</summary>
    public int Holding => Volatile.Read(ref _holding);

    [Ordered]
    public void Hold(int milliseconds)
    {
        Interlocked.Increment(ref _holding);
#pragma warning disable DER0012 // stalling the shard is this handler's whole purpose
        Gate.Wait(milliseconds);
#pragma warning restore DER0012
    }

    [Ordered]
    public long Add(long value)
    {
        _applied.Add(value);
        return _applied.Count;
    }

    [P2PCallable]
    public List<long> History() => new(_applied);
}
