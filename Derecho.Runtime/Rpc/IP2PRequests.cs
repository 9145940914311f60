namespace Derecho.Rpc;

/// <summary>Where P2P requests for the replicas hosted here go (this member's own included): the replica side.</summary>
internal interface IP2PRequests
{
    /// <summary>Queues a P2P request (header and arguments) from <paramref name="from"/> for the protocol thread.</summary>
    void EnqueueP2P(int from, ReadOnlySpan<byte> message);
}
