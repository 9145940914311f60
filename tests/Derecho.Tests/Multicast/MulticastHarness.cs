using System.Collections.Concurrent;
using System.Net;
using Derecho.Multicast;
using Derecho.Sst;
using Derecho.Tests.Support;
using Derecho.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Derecho.Tests.Multicast;

/// <summary>
/// n members in one process, each with its own TCP transport on loopback, SST, multicast and protocol
/// thread: the real data plane, minus process boundaries. Records every delivery.
/// </summary>
internal sealed class MulticastHarness : IAsyncDisposable
{
    private MulticastHarness(List<Member> members) => Members = members;

    public List<Member> Members { get; }

    public static async Task<MulticastHarness> StartAsync(int count, MulticastOptions options, Func<int, Action<Delivered>?>? onDeliver = null)
    {
        var ports = Ports.Free(count);
        var endpoints = Enumerable.Range(0, count).ToDictionary(i => i, i => new IPEndPoint(IPAddress.Loopback, ports[i]));
        var members = Enumerable.Range(0, count).Select(i => new Member(i, endpoints, options, onDeliver?.Invoke(i))).ToList();
        await Task.WhenAll(members.Select(m => m.Transport.ConnectAsync()));
        return new MulticastHarness(members);
    }

    public void StartLoops() => Members.ForEach(m => m.Loop.Start());

    public Task WaitForDeliveries(int messages) =>
        Eventually.True(() => Members.All(m => m.Deliveries.Count >= messages), $"{messages} deliveries at every member");

    public async ValueTask DisposeAsync()
    {
        foreach (var member in Members) await member.DisposeAsync();
    }

    public readonly record struct Delivered(int Sender, long Index, long Sequence, byte[] Payload);

    internal sealed class Member : IDeliveryHandler, ITransportHandler, IAsyncDisposable
    {
        private readonly Action<Delivered>? _onDeliver;

        public Member(int id, Dictionary<int, IPEndPoint> endpoints, MulticastOptions options, Action<Delivered>? onDeliver)
        {
            _onDeliver = onDeliver;
            var ids = endpoints.Keys.Order().ToArray();
            Transport = TcpTransport.Listen(new TcpTransportOptions { LocalId = id, Endpoints = endpoints, GroupFingerprint = 42 }, this, NullLogger.Instance);
            Sst = new SharedStateTable(ids, id);
            Sst.RegisterWith(Transport);
            Multicast = new SmallMessageMulticast(Sst, Transport, ids, options, this);
            Loop = new PredicateLoop(Transport, NullLogger.Instance, TimeSpan.FromMilliseconds(50)) { Table = Sst };
            Multicast.AddPredicates(Loop);
            Multicast.OnQueued = Loop.Wake;
            Loop.Faulted += e => Fault = e;
        }

        public TcpTransport Transport { get; }
        public SharedStateTable Sst { get; }
        public SmallMessageMulticast Multicast { get; }
        public PredicateLoop Loop { get; }
        public ConcurrentQueue<Delivered> Deliveries { get; } = new();
        public Exception? Fault { get; private set; }

        public void Deliver(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload)
        {
            var delivered = new Delivered(senderRank, index, sequence, payload.ToArray());
            Deliveries.Enqueue(delivered);
            _onDeliver?.Invoke(delivered);
        }

        public void OnWritesApplied(int peerId) => Loop.Wake();

        public void OnMessage(int peerId, ReadOnlySpan<byte> message) { }

        public void OnPeerDisconnected(int peerId, string reason) { }

        public async ValueTask DisposeAsync()
        {
            Multicast.Stop("test over");
            Loop.Dispose();
            await Transport.DisposeAsync();
            Multicast.Dispose();
            Sst.Dispose();
        }
    }
}
