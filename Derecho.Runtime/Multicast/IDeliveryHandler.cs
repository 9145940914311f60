namespace Derecho.Multicast;

/// <summary>Receives messages in the agreed total order, on the protocol thread.</summary>
internal interface IDeliveryHandler
{
    /// <summary>
    /// Message <paramref name="index"/> of the sender at <paramref name="senderRank"/>, globally the
    /// <paramref name="sequence"/>-th. <paramref name="payload"/> points into the ring and is valid only
    /// during the call (zero-copy delivery).
    /// </summary>
    void Deliver(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload);

    /// <summary>
    /// A message the view's trim delivers while this member is still waiting for the shard's state: it is not
    /// applied here (the state this member receives in the next view includes it).
    /// </summary>
    void Skip(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload) { }
}
