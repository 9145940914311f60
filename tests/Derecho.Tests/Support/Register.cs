using Derecho.Rpc;

namespace Derecho.Tests.Support;

/// <summary>A small replicated type for in-process group tests; [MemoryPackable] for state transfer to joiners.</summary>
[Replicated]
[MemoryPack.MemoryPackable]
public partial class Register
{
    [MemoryPack.MemoryPackInclude] private long _value;
    [MemoryPack.MemoryPackInclude] private List<long> _applied = new();

    [Ordered]
    public long Set(long value)
    {
        _value = value;
        _applied.Add(value);
        return _applied.Count;
    }

    [Ordered]
    public void Explode(string why) => throw new InvalidOperationException(why);

    /// <summary>What a handler sees of the deterministic context; must be the same at every replica.</summary>
    [Ordered]
    public string Stamp() =>
        $"{OrderedContext.Timestamp.Ticks}/{OrderedContext.Random.Next()}/{OrderedContext.NewGuid()}/{OrderedContext.Current.Sequence}";

    [P2PCallable]
    public long Get() => _value;

    [P2PCallable]
    public List<long> History() => new(_applied);
}
