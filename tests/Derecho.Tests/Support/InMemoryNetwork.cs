using Derecho.Transport;

namespace Derecho.Tests.Support;

/// <summary>
/// A deterministic network for protocol tests: one-sided writes are queued per link and applied only when
/// the test says so, so a test can hold back any member's traffic, cut a member off, and step predicates
/// one member at a time.
/// </summary>
internal sealed class InMemoryNetwork
{
    private readonly Dictionary<(int To, int From, RegionKind Kind, int Epoch), (NativeRegion Region, long Offset, long Length)> _regions = new();
    private readonly Queue<(int From, int To, RegionKind Kind, int Epoch, long Offset, byte[] Data)> _inFlight = new();
    private readonly HashSet<int> _cut = new();

    public ITransport Endpoint(int memberId) => new Port(this, memberId);

    /// <summary>Drops everything from and to <paramref name="memberId"/> from now on (a crash).</summary>
    public void Cut(int memberId) => _cut.Add(memberId);

    /// <summary>Applies queued writes, except those a filter holds back; returns how many were applied.</summary>
    public unsafe int Deliver(Func<int, int, bool>? allow = null)
    {
        var held = new Queue<(int, int, RegionKind, int, long, byte[])>();
        var applied = 0;
        while (_inFlight.TryDequeue(out var write))
        {
            if (_cut.Contains(write.From) || _cut.Contains(write.To)) continue;
            if (allow is not null && !allow(write.From, write.To)) { held.Enqueue(write); continue; }
            if (!_regions.TryGetValue((write.To, write.From, write.Kind, write.Epoch), out var target)) continue;
            write.Data.CopyTo(new Span<byte>(target.Region.Pointer + target.Offset + write.Offset, write.Data.Length));
            applied++;
        }
        foreach (var write in held) _inFlight.Enqueue(write);
        return applied;
    }

    private sealed unsafe class Port(InMemoryNetwork network, int me) : ITransport
    {
        public int LocalId => me;

        public void RegisterInbound(int peerId, RegionKind kind, int epoch, NativeRegion region, long offset, long length, bool wordAtomic) =>
            network._regions[(me, peerId, kind, epoch)] = (region, offset, length);

        public void RetireEpochsBefore(int epoch) { }

        public void UnregisterInbound(NativeRegion region)
        {
            foreach (var key in network._regions.Where(r => r.Key.To == me && r.Value.Region == region).Select(r => r.Key).ToList())
                network._regions.Remove(key);
        }

        public void Write(int peerId, RegionKind kind, int epoch, long offset, ReadOnlySpan<byte> data) =>
            network._inFlight.Enqueue((me, peerId, kind, epoch, offset, data.ToArray()));

        public void WriteStable(int peerId, RegionKind kind, int epoch, long offset, byte* data, int length) =>
            Write(peerId, kind, epoch, offset, new ReadOnlySpan<byte>(data, length));

        public void ForgetPeer(int peerId) { }

        public void Send(int peerId, ReadOnlySpan<byte> message) { }

        public void Flush() { }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
