using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Derecho.Benchmarks;

/// <summary>The client protocol of <see cref="DotNextMember"/>: a request is [op][key length u16][value length i32][key][value]; a reply [status][length i32][data].</summary>
internal static class DotNextWire
{
    public const int RequestHeader = 7;
    public const int ReplyHeader = 5;
    public const byte Put = 1, Get = 2, IsLeader = 3;
    public const byte Ok = 0, NotFound = 1, NotLeader = 2;
}

/// <summary>
/// A throw-away 3-member DotNext Raft cluster on loopback (<see cref="DotNextMember"/> processes, each with its
/// own WAL directory), and clients that send puts to its leader; removed afterwards, also on failure.
/// </summary>
internal sealed class DotNextCluster : IAsyncDisposable
{
    private readonly List<Process> _members;
    private readonly DirectoryInfo _data;
    private readonly int[] _clientPorts;
    private readonly ConcurrentQueue<Connection> _idle = new();

    private DotNextCluster(List<Process> members, DirectoryInfo data, int[] clientPorts)
    {
        _members = members;
        _data = data;
        _clientPorts = clientPorts;
    }

    /// <summary>The client port of the member that was leader when the cluster started.</summary>
    public int LeaderPort { get; private set; }

    public IReadOnlyList<Process> Members => _members;

    public static async Task<DotNextCluster> StartAsync(int size)
    {
        var ports = ChildProcess.FreePorts(2 * size);
        var data = Directory.CreateTempSubdirectory("derecho-dotnext-");
        var cluster = new DotNextCluster([], data, ports[..size]);
        try
        {
            using var ready = new CountdownEvent(size);
            for (var id = 0; id < size; id++)
            {
                var process = ChildProcess.Start($"{id} {data.FullName} {ports[id]} {string.Join(',', ports[size..])}", "--child-dotnext");
                process.OutputDataReceived += (_, e) => { if (e.Data == "READY") ready.Signal(); };
                process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"  dotnext member: {e.Data}"); };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                cluster._members.Add(process);
            }
            if (!ready.Wait(TimeSpan.FromMinutes(1))) throw new TimeoutException("the DotNext members did not start");
            cluster.LeaderPort = await cluster.FindLeaderAsync(TimeSpan.FromSeconds(30));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task<int> FindLeaderAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var port in _clientPorts)
            {
                await using var probe = await Connection.OpenAsync(port);
                if ((await probe.CallAsync(DotNextWire.IsLeader, "", default)).Status == DotNextWire.Ok) return port;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("no DotNext member became leader");
    }

    /// <summary>A put through the leader; completes when the leader's <c>ReplicateAsync</c> returned.</summary>
    public async Task PutAsync(string key, ReadOnlyMemory<byte> value)
    {
        var connection = await RentAsync();
        var (status, _) = await connection.CallAsync(DotNextWire.Put, key, value);
        _idle.Enqueue(connection);
        if (status != DotNextWire.Ok) throw new InvalidOperationException($"DotNext put of {key} refused (status {status}: the leader changed during the run)");
    }

    /// <summary>A get from the leader's map.</summary>
    public async Task<int> GetLengthAsync(string key)
    {
        var connection = await RentAsync();
        var (status, length) = await connection.CallAsync(DotNextWire.Get, key, default);
        _idle.Enqueue(connection);
        return status == DotNextWire.Ok ? length : -1;
    }

    private async ValueTask<Connection> RentAsync() => _idle.TryDequeue(out var connection) ? connection : await Connection.OpenAsync(LeaderPort);

    public async ValueTask DisposeAsync()
    {
        while (_idle.TryDequeue(out var connection)) await connection.DisposeAsync();
        foreach (var member in _members)
        {
            if (!member.HasExited) member.Kill(entireProcessTree: true);
            await member.WaitForExitAsync();
            member.Dispose();
        }
        _data.Delete(recursive: true);
    }

    /// <summary>One TCP connection to a member, one request at a time.</summary>
    private sealed class Connection(Socket socket, NetworkStream stream) : IAsyncDisposable
    {
        private byte[] _buffer = new byte[256];

        public static async Task<Connection> OpenAsync(int port)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            return new Connection(socket, new NetworkStream(socket, ownsSocket: true));
        }

        public async Task<(byte Status, int Length)> CallAsync(byte op, string key, ReadOnlyMemory<byte> value)
        {
            var keyBytes = Encoding.UTF8.GetByteCount(key);
            var size = DotNextWire.RequestHeader + keyBytes + value.Length;
            if (_buffer.Length < size) _buffer = new byte[size];
            _buffer[0] = op;
            BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(1), (ushort)keyBytes);
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(3), value.Length);
            Encoding.UTF8.GetBytes(key, _buffer.AsSpan(DotNextWire.RequestHeader));
            value.Span.CopyTo(_buffer.AsSpan(DotNextWire.RequestHeader + keyBytes));
            await stream.WriteAsync(_buffer.AsMemory(0, size));
            await stream.ReadExactlyAsync(_buffer.AsMemory(0, DotNextWire.ReplyHeader));
            var status = _buffer[0];
            var length = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(1));
            if (_buffer.Length < length) _buffer = new byte[length];
            await stream.ReadExactlyAsync(_buffer.AsMemory(0, length));
            return (status, length);
        }

        public async ValueTask DisposeAsync()
        {
            await stream.DisposeAsync();
            socket.Dispose();
        }
    }
}
