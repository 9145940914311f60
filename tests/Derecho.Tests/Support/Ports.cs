using System.Net;
using System.Net.Sockets;

namespace Derecho.Tests.Support;

internal static class Ports
{
    // Below Linux's ephemeral range (32768–60999): a port handed out there can be taken as the local port of
    // some outgoing connection (members dial each other many times while starting) before its member binds it.
    private const int Lowest = 20_000, Highest = 32_000;
    private static readonly object Gate = new();
    private static readonly HashSet<int> Given = new();

    /// <summary>Ports nobody listens on now, never handed out before in this process, for members to bind.</summary>
    public static int[] Free(int count)
    {
        lock (Gate)
        {
            var ports = new List<int>(count);
            while (ports.Count < count)
            {
                var port = Random.Shared.Next(Lowest, Highest);
                if (!Given.Add(port)) continue;
                try
                {
                    var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                    listener.Stop();
                }
                catch (SocketException) { continue; }
                ports.Add(port);
            }
            return ports.ToArray();
        }
    }
}
