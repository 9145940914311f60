namespace Derecho.Transport;

/// <summary>Receives what arrives from peers. Called on transport threads; must not block.</summary>
public interface ITransportHandler
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
public interface ITransport : IAsyncDisposable
{
    /// <summary>This member's id.</summary>
    int LocalId { get; }

    /// <summary>Makes <paramref name="region"/> the destination of <paramref name="peerId"/>'s writes to <paramref name="kind"/>.</summary>
    void RegisterInbound(int peerId, RegionKind kind, NativeRegion region, long offset, long length, bool wordAtomic);

    /// <summary>Queues a one-sided write of <paramref name="data"/> into the peer's copy of our <paramref name="kind"/> region.</summary>
    void Write(int peerId, RegionKind kind, long offset, ReadOnlySpan<byte> data);

    /// <summary>Queues a message for the peer's <see cref="ITransportHandler.OnMessage"/>.</summary>
    void Send(int peerId, ReadOnlySpan<byte> message);

    /// <summary>Starts sending everything queued so far to every peer.</summary>
    void Flush();
}
