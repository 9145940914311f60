using System.Collections.Concurrent;
using System.Net;
using Derecho.Membership;
using Derecho.Rpc;
using Derecho.Transport;
using Derecho.Wire;

namespace Derecho.Tests.Support;

/// <summary>
/// A client that speaks the relay protocol by hand: it picks its own client id and each call's session sequence
/// and floor, so a test can send one call twice, or below its floor, as a client failing over would.
/// </summary>
internal sealed class SessionProbe : IAsyncDisposable, ITransportHandler
{
    private readonly TcpTransport _transport;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<List<RawReply>>> _waiting = new();
    private readonly TaskCompletionSource _greeted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextRequest;

    private SessionProbe(int clientId, ulong fingerprint)
    {
        Id = clientId;
        _transport = TcpTransport.Listen(new TcpTransportOptions
        {
            LocalId = clientId,
            Endpoints = new Dictionary<int, IPEndPoint> { [clientId] = new(IPAddress.Loopback, 0) },
            GroupFingerprint = fingerprint,
        }, this, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
    }

    public int Id { get; }

    /// <summary>Connects as client <paramref name="clientId"/> to member <paramref name="member"/> at <paramref name="port"/> and waits for the view.</summary>
    public static async Task<SessionProbe> ConnectAsync(int clientId, int member, int port, int ringBytes = 1 << 20, int maxPayloadBytes = 64 << 10)
    {
        var probe = new SessionProbe(clientId, GroupFingerprint.Of("derecho", ringBytes, maxPayloadBytes));
        probe._transport.AddPeer(member, new IPEndPoint(IPAddress.Loopback, port));
        probe._transport.Send(member, ClientMessages.Hello(clientId, PackedEndpoint.Pack(probe._transport.LocalEndPoint)));
        probe._transport.Flush();
        await probe._greeted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        probe.Member = member;
        return probe;
    }

    public int Member { get; private set; }

    /// <summary>The method id and argument bytes the generated proxy writes for a call (captured, not sent).</summary>
    public static (uint Method, byte[] Arguments) Capture<T>(Func<OrderedHandle<T>, Task> call) where T : class, IReplicatedType
    {
        var capture = new CapturingInvoker();
        _ = call(new OrderedHandle<T>(capture, 0));
        return (capture.Method, capture.Arguments!);
    }

    /// <summary>Has the member relay a call in this client's session; returns every replica's raw reply.</summary>
    public Task<List<RawReply>> RelayAsync<T>((uint Method, byte[] Arguments) call, long sequence, long floor, int shard = 0) where T : class, IReplicatedType
    {
        var request = Interlocked.Increment(ref _nextRequest);
        var message = new byte[RpcHeaders.SessionRelayHeaderSize + call.Arguments.Length];
        RpcHeaders.WriteSessionRelayHeader(message, T.ReplicatedTypeId, shard, call.Method, request, sequence, floor);
        call.Arguments.CopyTo(message, RpcHeaders.SessionRelayHeaderSize);
        var reply = new TaskCompletionSource<List<RawReply>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[request] = reply;
        _transport.Send(Member, message);
        _transport.Flush();
        return reply.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    void ITransportHandler.OnWritesApplied(int peerId) { }

    void ITransportHandler.OnMessage(int peerId, ReadOnlySpan<byte> message)
    {
        if (message.IsEmpty) return;
        if (message[0] == (byte)MessageKind.ViewInfo) _greeted.TrySetResult();
        if (message[0] == (byte)MessageKind.RelayResult && ClientMessages.TryReadRelayResult(message, out var request, out var replies) && _waiting.TryRemove(request, out var waiting))
            waiting.TrySetResult(replies);
    }

    void ITransportHandler.OnPeerDisconnected(int peerId, string reason)
    {
        foreach (var waiting in _waiting.Values) waiting.TrySetException(new IOException($"member {peerId} went away: {reason}"));
    }

    public ValueTask DisposeAsync() => _transport.DisposeAsync();

    /// <summary>Takes what a generated stub hands its invoker, and sends nothing.</summary>
    private sealed class CapturingInvoker : IRpcInvoker
    {
        public uint Method { get; private set; }

        public byte[]? Arguments { get; private set; }

        public IReadOnlyList<int> MemberIds => [];

        public Derecho.Layout.GroupLayout Layout => new([], "capturing");

        public int OrderedHeaderSize => RpcHeaders.OrderedHeaderSize;

        public Task<QueryResults<TResult>> InvokeOrdered<TResult>(uint typeId, int shard, uint methodId, PooledBufferWriter request)
        {
            Method = methodId;
            Arguments = request.WrittenSpan[RpcHeaders.OrderedHeaderSize..].ToArray();
            return new TaskCompletionSource<QueryResults<TResult>>().Task;
        }

        public Task<TResult> InvokeP2P<TResult>(int memberId, uint typeId, int shard, uint methodId, PooledBufferWriter request, ReadTime readAt) => throw new NotSupportedException();

        public Task InvokeTrigger(uint typeId, int shard, uint methodId, PooledBufferWriter request) => throw new NotSupportedException();

        public IAsyncEnumerable<Notification<TResult>> Subscribe<TResult>(uint typeId, int shard, string? topic, long afterVersion, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
