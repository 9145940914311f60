using Derecho.Rpc;

namespace Derecho.Tests.Support;

#pragma warning disable DER0009 // on purpose: a group hosting it must refuse joiners instead of failing
/// <summary>State in a plain field and no state transfer (neither [MemoryPackable] nor IReplicaState).</summary>
[Replicated]
public partial class Unsendable
{
    private long _total;

    [Ordered]
    public long Add(long amount) => _total += amount;
}
#pragma warning restore DER0009
