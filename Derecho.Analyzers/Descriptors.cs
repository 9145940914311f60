using Microsoft.CodeAnalysis;

namespace Derecho.Analyzers;

/// <summary>Every DER0xxx diagnostic, in one place. Help text: docs/diagnostics.md.</summary>
internal static class Descriptors
{
    private const string Category = "Derecho.Determinism";

    public static readonly DiagnosticDescriptor WallClock = Rule("DER0001", "Clock read in an ordered handler",
        "'{0}' reads this machine's clock in code reached from [Ordered] handler '{1}'; replicas would see different times{2}{3}");

    public static readonly DiagnosticDescriptor Randomness = Rule("DER0002", "Unseeded randomness in an ordered handler",
        "'{0}' draws unseeded randomness in code reached from [Ordered] handler '{1}'; replicas would draw different values{2}{3}");

    public static readonly DiagnosticDescriptor Concurrency = Rule("DER0003", "Concurrency in an ordered handler",
        "'{0}' in code reached from [Ordered] handler '{1}' makes its effects depend on thread scheduling; ordered handlers must run to completion on the delivery thread{2}");

    public static readonly DiagnosticDescriptor IoOrEnvironment = Rule("DER0004", "I/O or environment access in an ordered handler",
        "'{0}' in code reached from [Ordered] handler '{1}' depends on this machine (files, network, console, environment, processes); replicas would diverge{2}");

    public static readonly DiagnosticDescriptor StaticWrite = Rule("DER0005", "Write to static state in an ordered handler",
        "'{0}' changes static state '{1}' in code reached from [Ordered] handler '{2}'; static state is per process, not replicated{3}");

    public static readonly DiagnosticDescriptor HashOrderEnumeration = Rule("DER0006", "Enumeration of a hash collection keyed by string or object",
        "Enumerating '{0}' in code reached from [Ordered] handler '{1}': its order is undefined and, for string or object keys, hash-based (string hashes are randomized per process), so replicas may see different orders{2}. Sort first, or use SortedDictionary/SortedSet.");

    public static readonly DiagnosticDescriptor P2PMutation = Rule("DER0007", "P2P handler mutates state",
        "'{0}' changes replicated state in code reached from [P2PCallable] handler '{1}'; P2P calls run on one member only, so that member would diverge{2}. Make it [Ordered].");

    public static readonly DiagnosticDescriptor TriggerMutation = Rule("DER0013", "Trigger handler mutates state",
        "'{0}' changes replicated state in code reached from [Trigger] handler '{1}'; a trigger runs on one member only, concurrently with the ordered handlers, so that member would diverge{2}. Change it through an ordered call (IReplicaContext.Subgroup<T>()).");

    public static readonly DiagnosticDescriptor ProcessHash = Rule("DER0010", "Per-process hash code in an ordered handler",
        "'{0}' in code reached from [Ordered] handler '{1}' is a hash code that differs per process{2}{3}");

    public static readonly DiagnosticDescriptor MachineFact = Rule("DER0011", "Machine or process fact in an ordered handler",
        "'{0}' in code reached from [Ordered] handler '{1}' is a fact about this machine or process (processors, names, ids, memory, GC); replicas would see different values{2}");

    public static readonly DiagnosticDescriptor Blocking = Rule("DER0012", "Blocking call in an ordered handler",
        "'{0}' blocks in code reached from [Ordered] handler '{1}'; ordered handlers run one at a time on the delivery thread, so the whole shard stalls while it waits{2}");

    public static readonly DiagnosticDescriptor NotSerializable = new("DER0008", "Type MemoryPack cannot serialize",
        "{0} type '{1}' of '{2}' cannot be serialized by MemoryPack: {3}",
        "Derecho.Marshalling", DiagnosticSeverity.Warning, isEnabledByDefault: true, description: "See docs/diagnostics.md in the Derecho repository.");

    public static readonly DiagnosticDescriptor NoStateTransfer = new("DER0009", "Replicated type has state a joining member cannot receive",
        "'{0}' keeps state outside versioned fields ({1}) but is neither [MemoryPackable] nor an IReplicaState; a member that joins could never be given it, so running members refuse every join. Mark it [MemoryPackable] or implement Derecho.Rpc.IReplicaState.",
        "Derecho.StateTransfer", DiagnosticSeverity.Warning, isEnabledByDefault: true, description: "See docs/diagnostics.md in the Derecho repository.");

    private static DiagnosticDescriptor Rule(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, description: "See docs/diagnostics.md in the Derecho repository.");
}
