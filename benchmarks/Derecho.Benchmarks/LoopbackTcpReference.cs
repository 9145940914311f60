using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Derecho.Benchmarks;

/// <summary>The physical reference: one TCP stream between two sockets on loopback, 1 MB writes.</summary>
internal static class LoopbackTcpReference
{
    public static async Task<double> MeasureMegabytesPerSecondAsync(double seconds)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await sender.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        using var receiver = await listener.AcceptSocketAsync();

        long received = 0;
        var stop = false;
        var reader = Task.Run(() =>
        {
            var buffer = new byte[1 << 20];
            int n;
            while ((n = receiver.Receive(buffer)) > 0) received += n;
        });
        var chunk = new byte[1 << 20];
        var clock = Stopwatch.StartNew();
        await Task.Run(() =>
        {
            while (!stop)
            {
                sender.Send(chunk);
                if (clock.Elapsed.TotalSeconds >= seconds) stop = true;
            }
            sender.Shutdown(SocketShutdown.Send);
        });
        await reader;
        return received / clock.Elapsed.TotalSeconds / 1e6;
    }
}
