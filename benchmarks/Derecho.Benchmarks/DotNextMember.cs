using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;

namespace Derecho.Benchmarks;

/// <summary>
/// One member of the DotNext Raft peer (<c>--child-dotnext ID DATA CLIENT-PORT RAFT-PORTS</c>): DotNext's
/// <see cref="RaftCluster"/> over its TCP transport, its persistent <see cref="WriteAheadLog"/> (in 6.12 always a
/// checkpoint on every commit: a commit waits until every entry up to it is flushed to disk) and a key/value map as the state machine.
/// Clients talk to it over <see cref="DotNextWire"/>: the leader answers a put once
/// <c>ReplicateAsync</c> returned (committed by a majority, flushed on the leader, applied); any member
/// answers a get from its own map.
/// </summary>
internal static class DotNextMember
{
    public static async Task<int> RunAsync(string[] args)
    {
        var id = int.Parse(args[0], CultureInfo.InvariantCulture);
        var data = Directory.CreateDirectory(Path.Combine(args[1], $"m{id}"));
        var clientPort = int.Parse(args[2], CultureInfo.InvariantCulture);
        var raft = args[3].Split(',').Select(p => new IPEndPoint(IPAddress.Loopback, int.Parse(p, CultureInfo.InvariantCulture))).ToArray();

        await using var state = new KvStateMachine(data.CreateSubdirectory("snapshots"));
        await state.RestoreAsync(CancellationToken.None);
        await using var wal = new WriteAheadLog(new WriteAheadLog.Options { Location = data.CreateSubdirectory("wal").FullName }, state);
        var configuration = new RaftCluster.TcpConfiguration(raft[id])
        {
            // etcd's defaults are a 100 ms heartbeat and a 1 s election timeout; these keep the leader
            // stable on 2 busy cores (the heartbeat is half the lower bound).
            LowerElectionTimeout = 1000,
            UpperElectionTimeout = 2000,
            ColdStart = false,
            ConfigurationStorage = null!, // in-memory, filled below: a static 3-member cluster
        };
        var members = ((InMemoryClusterConfigurationStorage<EndPoint>)configuration.ConfigurationStorage).CreateInitialConfigurationBuilder();
        foreach (var endpoint in raft) members.Add(endpoint);
        members.Build();

        await using var cluster = new RaftCluster(configuration) { AuditTrail = wal };
        await cluster.StartAsync(CancellationToken.None);
        using var listener = new TcpListener(IPAddress.Loopback, clientPort);
        listener.Start(512);
        Console.WriteLine("READY");
        while (true)
        {
            var socket = await listener.AcceptSocketAsync();
            socket.NoDelay = true;
            _ = ServeAsync(socket, cluster, state);
        }
    }

    private static async Task ServeAsync(Socket socket, RaftCluster cluster, KvStateMachine state)
    {
        using var _ = socket;
        await using var stream = new NetworkStream(socket);
        var header = new byte[DotNextWire.RequestHeader];
        var reply = new byte[DotNextWire.ReplyHeader + 4096];
        try
        {
            while (true)
            {
                await stream.ReadExactlyAsync(header);
                var op = header[0];
                var keyBytes = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(1));
                var valueBytes = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(3));
                // The entry's payload is the request's key and value as they came: [key length][key][value].
                var payload = new byte[2 + keyBytes + valueBytes];
                BinaryPrimitives.WriteUInt16LittleEndian(payload, keyBytes);
                await stream.ReadExactlyAsync(payload.AsMemory(2));
                byte status;
                var length = 0;
                switch (op)
                {
                    case DotNextWire.Put when cluster.LeadershipToken.IsCancellationRequested:
                        status = DotNextWire.NotLeader;
                        break;
                    case DotNextWire.Put:
                        try
                        {
                            await RaftClusterExtensions.ReplicateAsync(cluster, payload, context: null, cluster.LeadershipToken);
                            status = DotNextWire.Ok;
                        }
                        catch (Exception e) when (e is NotLeaderException or OperationCanceledException)
                        {
                            status = DotNextWire.NotLeader;
                        }
                        break;
                    case DotNextWire.Get when state.TryGet(Encoding.UTF8.GetString(payload, 2, keyBytes), out var value):
                        status = DotNextWire.Ok;
                        if (reply.Length < DotNextWire.ReplyHeader + value.Length) Array.Resize(ref reply, DotNextWire.ReplyHeader + value.Length);
                        value.CopyTo(reply.AsSpan(DotNextWire.ReplyHeader));
                        length = value.Length;
                        break;
                    case DotNextWire.Get:
                        status = DotNextWire.NotFound;
                        break;
                    default: // DotNextWire.IsLeader
                        status = cluster.LeadershipToken.IsCancellationRequested ? DotNextWire.NotLeader : DotNextWire.Ok;
                        break;
                }
                reply[0] = status;
                BinaryPrimitives.WriteInt32LittleEndian(reply.AsSpan(1), length);
                await stream.WriteAsync(reply.AsMemory(0, DotNextWire.ReplyHeader + length));
            }
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or SocketException)
        {
            // the client went away
        }
    }

    /// <summary>The replicated map. Applied one entry at a time by the WAL's applier; read by the client connections.</summary>
    private sealed class KvStateMachine(DirectoryInfo snapshots) : SimpleStateMachine(snapshots)
    {
        private readonly ConcurrentDictionary<string, byte[]> _map = new();

        public bool TryGet(string key, out byte[] value) => _map.TryGetValue(key, out value!);

        protected override ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token)
        {
            if (entry.TryGetPayload(out var sequence) && sequence.Length >= 2)
            {
                var payload = sequence.ToArray();
                var keyBytes = BinaryPrimitives.ReadUInt16LittleEndian(payload);
                _map[Encoding.UTF8.GetString(payload, 2, keyBytes)] = payload[(2 + keyBytes)..];
            }
            return new(false); // no snapshots during a benchmark: the WAL keeps every entry
        }

        protected override ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token)
        {
            var buffer = new ArrayBufferWriter<byte>();
            foreach (var (key, value) in _map)
            {
                var keyBytes = Encoding.UTF8.GetBytes(key);
                var span = buffer.GetSpan(6 + keyBytes.Length + value.Length);
                BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)keyBytes.Length);
                BinaryPrimitives.WriteInt32LittleEndian(span[2..], value.Length);
                keyBytes.CopyTo(span[6..]);
                value.CopyTo(span[(6 + keyBytes.Length)..]);
                buffer.Advance(6 + keyBytes.Length + value.Length);
            }
            return writer.Invoke(buffer.WrittenMemory, token);
        }

        protected override async ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token)
        {
            var bytes = await File.ReadAllBytesAsync(snapshotFile.FullName, token);
            for (var at = 0; at + 6 <= bytes.Length;)
            {
                var keyBytes = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at));
                var valueBytes = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at + 2));
                _map[Encoding.UTF8.GetString(bytes, at + 6, keyBytes)] = bytes[(at + 6 + keyBytes)..(at + 6 + keyBytes + valueBytes)];
                at += 6 + keyBytes + valueBytes;
            }
        }
    }
}
