using System.Net;
using Derecho.Sst;
using Derecho.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Derecho.Multicast;

/// <summary>
/// A fixed set of members multicasting raw bytes in total order (Derecho's "raw subgroup"): TCP transport,
/// SST, small-message multicast and the protocol thread, without RPC or membership changes. Build it, then
/// <see cref="ConnectAsync"/>, then <see cref="Start"/>; deliveries go to the handler on the protocol thread.
/// </summary>
internal sealed class RawMulticastGroup : ITransportHandler, IAsyncDisposable
{
    /// <summary>Creates member <paramref name="myId"/> of the members in <paramref name="endpoints"/>.</summary>
    public RawMulticastGroup(int myId, IReadOnlyDictionary<int, IPEndPoint> endpoints, MulticastOptions options, IDeliveryHandler handler, ILogger? logger = null,
        Security.TlsCredentials? tls = null)
    {
        logger ??= NullLogger.Instance;
        var ids = endpoints.Keys.Order().ToArray();
        Transport = TcpTransport.Listen(new TcpTransportOptions { LocalId = myId, Endpoints = endpoints, GroupFingerprint = 0x5241574D43, Tls = tls }, this, logger);
        Sst = new SharedStateTable(ids, Array.IndexOf(ids, myId));
        Sst.RegisterWith(Transport);
        Multicast = new SmallMessageMulticast(Sst, 0, Enumerable.Range(0, ids.Length).ToArray(), Transport, options, handler); // one shard of every member
        Loop = new PredicateLoop(Transport, logger, TimeSpan.FromMilliseconds(50)) { Table = Sst };
        foreach (var (name, step) in Multicast.Predicates()) Loop.Add(name, step);
        Multicast.OnQueued = Loop.Wake;
        Loop.Faulted += e => Fault = e;
    }

    /// <summary>The transport.</summary>
    public TcpTransport Transport { get; }

    /// <summary>The shared state table.</summary>
    public SharedStateTable Sst { get; }

    /// <summary>The multicast: <see cref="SmallMessageMulticast.Send"/> to send.</summary>
    public SmallMessageMulticast Multicast { get; }

    /// <summary>The protocol thread.</summary>
    public PredicateLoop Loop { get; }

    /// <summary>Set if a protocol step failed (the loop stopped).</summary>
    public Exception? Fault { get; private set; }

    /// <summary>Connects to every member.</summary>
    public Task ConnectAsync(CancellationToken cancellationToken = default) => Transport.ConnectAsync(cancellationToken);

    /// <summary>Starts the protocol thread.</summary>
    public void Start() => Loop.Start();

    void ITransportHandler.OnWritesApplied(int peerId) => Loop.Wake();

    void ITransportHandler.OnMessage(int peerId, ReadOnlySpan<byte> message) { }

    void ITransportHandler.OnPeerDisconnected(int peerId, string reason) { }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Multicast.Stop("closed");
        Loop.Dispose();
        await Transport.DisposeAsync().ConfigureAwait(false);
        Multicast.Dispose();
        Sst.Dispose();
    }
}
