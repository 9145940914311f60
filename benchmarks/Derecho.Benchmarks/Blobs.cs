using Derecho.Persistence;
using Derecho.Rpc;

namespace Derecho.Benchmarks;

/// <summary>The replicated object of the restart benchmark: every ordered Put is a durable version of one blob field.</summary>
[Replicated]
public partial class Blobs
{
    private readonly Persistent<byte[]> _blob;

    public Blobs(IReplicaContext context) => _blob = context.Persistent<byte[]>("blob", []);

    [Ordered]
    public long Put(byte[] blob)
    {
        _blob.Set(blob);
        return _blob.CurrentVersion;
    }

    /// <summary>Latest version and how many versions this replica holds.</summary>
    [P2PCallable]
    public long[] Latest() => [_blob.CurrentVersion, _blob.VersionCount];
}
