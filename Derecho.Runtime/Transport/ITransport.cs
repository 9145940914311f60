namespace Derecho.Transport;

/// <summary>Receives what arrives from peers. Called on transport threads; must not block.</summary>
internal interface ITransportHandler
{
    /// <summary>One or more one-sided writes from <paramref name="peerId"/> are now visible in local memory.</summary>
    void OnWritesApplied(int peerId);

    /// <summary>A two-sided message; <paramref name="message"/> is only valid during the call.</summary>
    void OnMessage(int peerId, ReadOnlySpan<byte> message);

    /// <summary>The connection to or from <paramref name="peerId"/> broke.</summary>
    void OnPeerDisconnected(int peerId, string reason);
}

/// <summary>
/// One-sided writes into memory a peer registered, plus a message channel. Implementations: TCP (frames
/// copied into the receiver's registered memory), later shared memory and RDMA verbs. Writes from one
/// caller to one peer are applied in the order issued; that order is what makes "ring bytes, then the
/// counter that covers them" safe.
/// </summary>
internal interface ITransport : IAsyncDisposable
{
    /// <summary>This member's id.</summary>
    int LocalId { get; }

    /// <summary>
    /// Makes <paramref name="region"/> the destination of <paramref name="peerId"/>'s writes to <paramref name="kind"/>
    /// in view <paramref name="epoch"/>. Several epochs may be registered while a view change is under way.
    /// </summary>
    void RegisterInbound(int peerId, RegionKind kind, int epoch, NativeRegion region, long offset, long length, bool wordAtomic);

    /// <summary>
    /// Forgets every registration of an epoch below <paramref name="epoch"/>; late writes for them are dropped.
    /// Returns once no transport thread can touch that memory any more, so the caller may free it.
    /// </summary>
    void RetireEpochsBefore(int epoch);

    /// <summary>
    /// Forgets every registration that points into <paramref name="region"/> (a view disposed before or without
    /// being retired: a superseded proposal); late writes to them are dropped. Returns once no transport thread
    /// can touch <paramref name="region"/> any more, so the caller may free it.
    /// </summary>
    void UnregisterInbound(NativeRegion region);

    /// <summary>Queues a one-sided write of <paramref name="data"/> into the peer's copy of our <paramref name="kind"/> region of view <paramref name="epoch"/>.</summary>
    void Write(int peerId, RegionKind kind, int epoch, long offset, ReadOnlySpan<byte> data);

    /// <summary>Closes the connections to and from a member that left the view; later writes and messages to it are dropped.</summary>
    void ForgetPeer(int peerId);

    /// <summary>
    /// As <see cref="Write"/> for data in memory that stays valid and unchanged until the peer has it (a ring
    /// slot not yet reclaimed): a transport may send it in place instead of copying it.
    /// </summary>
    unsafe void WriteStable(int peerId, RegionKind kind, int epoch, long offset, byte* data, int length);

    /// <summary>Queues a message for the peer's <see cref="ITransportHandler.OnMessage"/>.</summary>
    void Send(int peerId, ReadOnlySpan<byte> message);

    /// <summary>Starts sending everything queued so far to every peer.</summary>
    void Flush();
}
