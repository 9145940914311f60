using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Derecho.Multicast;

namespace Derecho.Benchmarks;

/// <summary>
/// One member of the multicast benchmark: the real data plane (TCP transport, SST, SMC, protocol thread)
/// with a delivery handler that only counts and timestamps. Sends as fast as the ring allows for the
/// given time, then a done marker; reports when every sender's marker is delivered.
/// </summary>
internal sealed class MulticastMember : IDeliveryHandler
{
    private const byte DataFlag = 0;
    private const byte DoneFlag = 1;

    private readonly int _rank;
    private readonly int _members;
    private readonly long[] _latencyTicks;
    private int _latencyCount;
    private long _delivered;
    private int _doneSenders;
    private long _firstDelivery;
    private long _lastDelivery;

    private MulticastMember(int rank, int members, int latencyCapacity)
    {
        _rank = rank;
        _members = members;
        _latencyTicks = new long[latencyCapacity];
    }

    public static async Task<int> RunAsync(string[] args)
    {
        using var metrics = args.Contains("--metrics") ? new BenchmarkListeners() : null;
        args = args.Where(a => a != "--metrics").ToArray();
        var rank = int.Parse(args[0], CultureInfo.InvariantCulture);
        var ports = args[1].Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        var size = int.Parse(args[2], CultureInfo.InvariantCulture);
        var seconds = double.Parse(args[3], CultureInfo.InvariantCulture);
        var tls = args.Length > 4 ? BenchmarkCertificates.Load(args[4], rank) : null;
        var member = new MulticastMember(rank, ports.Length, 4_000_000);
        var exit = await member.RunAsync(ports, size, seconds, tls);
        if (metrics is not null) Console.WriteLine(metrics.Summary(rank));
        return exit;
    }

    private async Task<int> RunAsync(int[] ports, int size, double seconds, Security.TlsCredentials? tls)
    {
        var endpoints = ports.Select((p, i) => (p, i)).ToDictionary(x => x.i, x => new IPEndPoint(IPAddress.Loopback, x.p));
        var ring = Math.Max(4 << 20, 8 * (size + 64));
        await using var group = new RawMulticastGroup(_rank, endpoints, new MulticastOptions { RingBytes = ring, MaxPayloadBytes = Math.Max(size, 64) }, this, tls: tls);
        var multicast = group.Multicast;
        await group.ConnectAsync();
        group.Start();

        var payload = new byte[Math.Max(size, 16)];
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var stop = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        long sent = 0;
        while (Stopwatch.GetTimestamp() < stop)
        {
            payload[0] = DataFlag;
            BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(8), Stopwatch.GetTimestamp());
            multicast.Send(payload.AsSpan(0, size));
            sent++;
        }
        payload[0] = DoneFlag;
        multicast.Send(payload.AsSpan(0, 16));

        var deadline = Stopwatch.GetTimestamp() + 120 * Stopwatch.Frequency;
        while (Volatile.Read(ref _doneSenders) < _members && Stopwatch.GetTimestamp() < deadline) await Task.Delay(5);
        var elapsed = (double)(_lastDelivery - _firstDelivery) / Stopwatch.Frequency;
        var allocatedPerMessage = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / Math.Max(1, _delivered);

        var latencies = _latencyTicks.AsSpan(0, _latencyCount).ToArray();
        Array.Sort(latencies);
        double Percentile(double p) => latencies.Length == 0 ? 0 : latencies[(int)Math.Min(latencies.Length - 1, p * latencies.Length)] * 1e6 / Stopwatch.Frequency;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT {_rank} {_delivered} {elapsed:R} {Percentile(0.5):R} {Percentile(0.99):R} {sent} {multicast.DeliveryBatches} {_doneSenders} {allocatedPerMessage:R}"));

        // Stay until every member is done, so nobody's last messages lose their receivers.
        await Task.Delay(500);
        multicast.Stop("benchmark over");
        return _doneSenders == _members ? 0 : 1;
    }

    public void Deliver(int senderRank, long index, long sequence, ReadOnlySpan<byte> payload)
    {
        var now = Stopwatch.GetTimestamp();
        if (payload[0] == DoneFlag)
        {
            Interlocked.Increment(ref _doneSenders);
            return;
        }
        if (_delivered == 0) _firstDelivery = now;
        _lastDelivery = now;
        _delivered++;
        if (senderRank == _rank && _latencyCount < _latencyTicks.Length)
            _latencyTicks[_latencyCount++] = now - BinaryPrimitives.ReadInt64LittleEndian(payload[8..]);
    }
}
