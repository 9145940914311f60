using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Derecho.Client;
using Derecho.Replication;
using Derecho.Rpc;
using Derecho.Tests.Support;
using Derecho.Wire;
using Xunit;

namespace Derecho.Tests.Diagnostics;

/// <summary>A replicated type only these tests use, so the delivered bytes they measure are theirs alone.</summary>
[Replicated]
[MemoryPack.MemoryPackable]
public partial class TraceProbe
{
    [MemoryPack.MemoryPackInclude] private long _value;

    [Ordered]
    public long Put(long value) => _value = value;

    [P2PCallable]
    public long Read() => _value;
}

/// <summary>
/// The activity source "Derecho": a client's ordered call is one trace through the relaying member, its multicast send and
/// every replica's delivery; P2P calls are traced too; and a call no listener traces carries not one byte more.
/// </summary>
public sealed class TracingTests
{
    private static readonly ActivitySource Test = new("Derecho.Tests.Tracing");

    private static void Layout(LayoutBuilder l) => l.Subgroup(_ => new TraceProbe());

    [Fact]
    public async Task A_clients_ordered_call_is_one_trace_through_the_relay_and_every_replicas_delivery()
    {
        await using var group = await InProcessGroup.StartAsync(3, layout: Layout);
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var probe = client.Subgroup<TraceProbe>();
        await probe.Ordered.Put(1); // connected and relayed once before anyone listens
        using var spans = new SpanRecorder();

        ActivityTraceId traceId;
        ActivitySpanId rootId;
        using (var root = Test.StartActivity("test call")!)
        {
            (traceId, rootId) = (root.TraceId, root.SpanId);
            await probe.Ordered.Put(2);
        }
        await Eventually.True(() => spans.Of(traceId).Count(s => s.OperationName == "derecho.deliver") == 3 && spans.Of(traceId).Any(s => s.OperationName == "derecho.ordered"),
            "the client's span and all three deliveries are in");
        var trace = spans.Of(traceId);
        var call = Assert.Single(trace, s => s.OperationName == "derecho.ordered");
        Assert.Equal(ActivityKind.Client, call.Kind);
        Assert.Equal(rootId, call.ParentSpanId);
        Assert.Equal(client.Contact, call.GetTagItem("derecho.member.target"));
        var relay = Assert.Single(trace, s => s.OperationName == "derecho.relay");
        Assert.Equal(ActivityKind.Server, relay.Kind);
        Assert.Equal(call.SpanId, relay.ParentSpanId);
        Assert.Equal(client.Contact, relay.GetTagItem("derecho.member.id"));
        var send = Assert.Single(trace, s => s.OperationName == "derecho.multicast.send");
        Assert.Equal(ActivityKind.Producer, send.Kind);
        Assert.Equal(relay.SpanId, send.ParentSpanId);
        var deliveries = trace.Where(s => s.OperationName == "derecho.deliver").ToList();
        Assert.All(deliveries, d =>
        {
            Assert.Equal(ActivityKind.Consumer, d.Kind);
            Assert.Equal(send.SpanId, d.ParentSpanId);
        });
        Assert.Equal([0, 1, 2], deliveries.Select(d => (int)d.GetTagItem("derecho.member.id")!).Order());
        Assert.All(trace, s => Assert.Equal(traceId, s.TraceId));
        Assert.True(call.Duration >= relay.Duration, "the client's span covers the relay's");

        // A P2P call: the client's span and the replica's, its child.
        using (var root = Test.StartActivity("test read")!)
        {
            traceId = root.TraceId;
            Assert.Equal(2, await probe.On(1).Read());
        }
        await Eventually.True(() => spans.Of(traceId).Count == 2, "both P2P spans are in");
        var read = Assert.Single(spans.Of(traceId), s => s.Kind == ActivityKind.Client);
        var served = Assert.Single(spans.Of(traceId), s => s.Kind == ActivityKind.Server);
        Assert.Equal(("derecho.p2p", "derecho.p2p"), (read.OperationName, served.OperationName));
        Assert.Equal(read.SpanId, served.ParentSpanId);
        Assert.Equal(1, served.GetTagItem("derecho.member.id"));
    }

    [Fact]
    public async Task A_members_own_ordered_and_p2p_calls_are_traced_to_each_replica()
    {
        await using var group = await InProcessGroup.StartAsync(3, layout: Layout);
        using var spans = new SpanRecorder();
        ActivityTraceId traceId;
        using (var root = Test.StartActivity("member call")!)
        {
            traceId = root.TraceId;
            await group.Members[0].Subgroup<TraceProbe>().Ordered.Put(5);
            Assert.Equal(5, await group.Members[0].Subgroup<TraceProbe>().On(2).Read());
        }
        await Eventually.True(() => spans.Of(traceId).Count == 1 + 3 + 2, "the call, three deliveries, the read and its replica's span");
        var trace = spans.Of(traceId);
        var call = Assert.Single(trace, s => s.OperationName == "derecho.ordered");
        Assert.All(trace.Where(s => s.OperationName == "derecho.deliver"), d => Assert.Equal(call.SpanId, d.ParentSpanId));
        var read = Assert.Single(trace, s => s.OperationName == "derecho.p2p" && s.Kind == ActivityKind.Client);
        Assert.Equal(read.SpanId, Assert.Single(trace, s => s.Kind == ActivityKind.Server).ParentSpanId);
    }

    [Fact]
    public async Task A_call_no_listener_traces_carries_no_extra_bytes()
    {
        await using var group = await InProcessGroup.StartAsync(3, layout: Layout);
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        using var bytes = new DeliveredBytes("TraceProbe");
        var member = group.Members[0].Subgroup<TraceProbe>();
        var relayed = client.Subgroup<TraceProbe>();

        // No listener: each delivery is the call header and the arguments (in the client's session, its envelope too).
        var own = await bytes.PerDelivery(() => member.Ordered.Put(1));
        var viaRelay = await bytes.PerDelivery(() => relayed.Ordered.Put(1));
        Assert.InRange(own, RpcHeaders.OrderedHeaderSize + 1, RpcHeaders.OrderedHeaderSize + 16); // 24 bytes of header and one long
        Assert.Equal(own + RpcHeaders.SessionEnvelopeSize, viaRelay);

        // A listener of the source that samples nothing: no span, no bytes.
        using (new SpanRecorder(ActivitySamplingResult.None))
        {
            Assert.Equal(own, await bytes.PerDelivery(() => member.Ordered.Put(2)));
            Assert.Equal(viaRelay, await bytes.PerDelivery(() => relayed.Ordered.Put(2)));
        }

        // Traced: the trace envelope, and nothing else.
        using (new SpanRecorder())
        {
            Assert.Equal(own + RpcHeaders.TraceEnvelopeSize, await bytes.PerDelivery(() => member.Ordered.Put(3)));
            Assert.Equal(viaRelay + RpcHeaders.TraceEnvelopeSize, await bytes.PerDelivery(() => relayed.Ordered.Put(3)));
        }
        Assert.Equal(own, await bytes.PerDelivery(() => member.Ordered.Put(4)));
    }

    /// <summary>Keeps every stopped span of the source "Derecho" and of the tests' own source.</summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<Activity> _stopped = new();

        public SpanRecorder(ActivitySamplingResult sampling = ActivitySamplingResult.AllDataAndRecorded)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name is "Derecho" or "Derecho.Tests.Tracing",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => sampling,
                ActivityStopped = _stopped.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public List<Activity> Of(ActivityTraceId trace) => _stopped.Where(a => a.TraceId == trace && a.Source.Name == "Derecho").ToList();

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>The payload bytes each replica delivered of one type (derecho.multicast.delivered.bytes over derecho.multicast.delivered).</summary>
    private sealed class DeliveredBytes : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly string _type;
        private long _messages;
        private long _bytes;

        public DeliveredBytes(string type)
        {
            _type = type;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Derecho" && instrument.Name.StartsWith("derecho.multicast.delivered", StringComparison.Ordinal)) listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                foreach (var (key, tag) in tags)
                {
                    if (key != "derecho.replicated_type" || tag is not string name || !name.EndsWith(_type, StringComparison.Ordinal)) continue;
                    if (instrument.Name == "derecho.multicast.delivered") Interlocked.Add(ref _messages, value);
                    else Interlocked.Add(ref _bytes, value);
                }
            });
            _listener.Start();
        }

        /// <summary>Makes one call and returns the bytes of each of its three deliveries (all the same).</summary>
        public async Task<long> PerDelivery(Func<Task> call)
        {
            var (messages, bytes) = (Interlocked.Read(ref _messages), Interlocked.Read(ref _bytes));
            await call();
            await Eventually.True(() => Interlocked.Read(ref _messages) == messages + 3, "every replica delivered the call");
            var delivered = Interlocked.Read(ref _bytes) - bytes;
            Assert.Equal(0, delivered % 3);
            return delivered / 3;
        }

        public void Dispose() => _listener.Dispose();
    }
}
