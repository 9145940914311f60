using System.Collections.Concurrent;
using System.Net;
using Derecho.Multicast;
using Derecho.Sst;
using Derecho.Tests.Support;
using Derecho.Transport;

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

    /// <summary>One member: a <see cref="RawMulticastGroup"/> whose deliveries are recorded.</summary>
    internal sealed class Member : IDeliveryHandler, IAsyncDisposable
    {
        private readonly Action<Delivered>? _onDeliver;
        private readonly RawMulticastGroup _group;

        public Member(int id, Dictionary<int, IPEndPoint> endpoints, MulticastOptions options, Action<Delivered>? onDeliver)
        {
            _onDeliver = onDeliver;
            _group = new RawMulticastGroup(id, endpoints, options, this);
        }

        public TcpTransport Transport => _group.Transport;
        public SharedStateTable Sst => _group.Sst;
        public SmallMessageMulticast Multicast => _group.Multicast;
        public PredicateLoop Loop => _group.Loop;
        public ConcurrentQueue<Delivered> Deliveries { get; } = new();
        public Exception? Fault => _group.Fault;

        public void Deliver(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload)
        {
            var delivered = new Delivered(senderRank, index, sequence, payload.ToArray());
            Deliveries.Enqueue(delivered);
            _onDeliver?.Invoke(delivered);
        }

        public ValueTask DisposeAsync() => _group.DisposeAsync();
    }
}
