namespace Derecho.Multicast;

/// <summary>Receives messages in the agreed total order, on the protocol thread.</summary>
public interface IDeliveryHandler
{
    /// <summary>
    /// Message <paramref name="index"/> of the sender at <paramref name="senderRank"/>, globally the
    /// <paramref name="sequence"/>-th. <paramref name="payload"/> points into the ring and is valid only
    /// during the call (zero-copy delivery).
    /// </summary>
    void Deliver(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload);
}
