using Derecho.Fuzz.Targets;

namespace Derecho.Fuzz;

/// <summary>Runs one decoder over untrusted bytes: returns when they decode or are refused, throws on anything else.</summary>
public delegate void FuzzTarget(ReadOnlySpan<byte> input);

/// <summary>Every fuzz target by name: what the afl harness runs and what the corpus replay test calls.</summary>
public static class FuzzTargets
{
    /// <summary>The targets, one per decoder family (fuzz/README.md says what each covers).</summary>
    public static IReadOnlyDictionary<string, FuzzTarget> All { get; } = new Dictionary<string, FuzzTarget>
    {
        ["frame-header"] = TransportTargets.FrameHeader,
        ["hello"] = TransportTargets.Hello,
        ["join"] = MembershipTargets.Join,
        ["rpc-headers"] = RpcTargets.Headers,
        ["client"] = ClientTargets.Client,
        ["layout"] = LayoutTargets.Layout,
        ["state-transfer"] = MemoryPackTargets.StateTransfer,
        ["restart"] = MemoryPackTargets.Restart,
        ["arguments"] = MemoryPackTargets.Arguments,
        ["log"] = LogTarget.Recover,
    };

    /// <summary>
    /// Runs <paramref name="name"/> on <paramref name="input"/> and fails if it allocated more than the
    /// input can justify: a length field that makes a decoder allocate before it checks is a finding too.
    /// </summary>
    public static void Run(string name, ReadOnlySpan<byte> input)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        All[name](input);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated > AllocationBudget(input.Length))
            throw new FuzzFindingException($"{name}: {allocated} bytes allocated for an input of {input.Length}");
    }

    /// <summary>A megabyte of slack (first-use caches, strings) plus 64 bytes per input byte.</summary>
    public static long AllocationBudget(int inputLength) => (1L << 20) + 64L * inputLength;
}

/// <summary>A target saw a decoder break its contract (not a clean refusal).</summary>
public sealed class FuzzFindingException(string message) : Exception(message);
