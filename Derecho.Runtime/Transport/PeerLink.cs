using System.Net.Sockets;

namespace Derecho.Transport;

/// <summary>A connection after its handshake: the socket, and the stream frames go through (TLS or plain).</summary>
internal sealed class PeerLink(Socket socket, Stream stream)
{
    public Socket Socket { get; } = socket;

    public Stream Stream { get; } = stream;

    /// <summary>Shuts the socket down (a blocked reader or writer returns) and releases both.</summary>
    public void Close()
    {
        try { Socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        try { Stream.Dispose(); } catch (IOException) { } catch (ObjectDisposedException) { }
        Socket.Dispose();
    }
}
