using System.Net;
using System.Net.Sockets;

namespace Derecho.Benchmarks;

/// <summary>
/// The latency benchmark's network reference: a child process that echoes every message of <see cref="MessageBytes"/>
/// on one loopback TCP connection (Nagle off), so the parent measures a plain process-to-process round trip.
/// </summary>
internal static class EchoServer
{
    public const int MessageBytes = 64;

    /// <summary>Child side: listen, print the port, echo one connection until it closes.</summary>
    public static async Task<int> RunAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Console.WriteLine($"PORT {((IPEndPoint)listener.LocalEndpoint).Port}");
        using var socket = await listener.AcceptSocketAsync();
        socket.NoDelay = true;
        var buffer = new byte[MessageBytes];
        while (await ReadExactlyAsync(socket, buffer)) await socket.SendAsync(buffer);
        return 0;
    }

    /// <summary>Parent side: round trips of one message at a time, in microseconds, after a warm-up.</summary>
    public static async Task<double[]> RoundTripsAsync(int count)
    {
        using var child = ChildProcess.Start("", mode: "--child-echo");
        try
        {
            var line = await child.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the echo process ended before it listened");
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(IPAddress.Loopback, int.Parse(line["PORT ".Length..], System.Globalization.CultureInfo.InvariantCulture));
            var buffer = new byte[MessageBytes];
            var samples = new double[count];
            for (var i = -count / 10; i < count; i++)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await socket.SendAsync(buffer);
                if (!await ReadExactlyAsync(socket, buffer)) throw new InvalidOperationException("the echo process closed the connection");
                if (i >= 0) samples[i] = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            }
            socket.Shutdown(SocketShutdown.Both);
            return samples;
        }
        finally
        {
            if (!child.HasExited) child.Kill();
        }
    }

    private static async Task<bool> ReadExactlyAsync(Socket socket, byte[] buffer)
    {
        for (var read = 0; read < buffer.Length;)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read));
            if (n == 0) return false;
            read += n;
        }
        return true;
    }
}
