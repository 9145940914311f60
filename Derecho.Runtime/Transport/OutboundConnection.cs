using System.Buffers;
using System.Net.Sockets;
using Derecho.Internal;

namespace Derecho.Transport;

/// <summary>
/// The sending half towards one peer. Producers append frames to a staging buffer under a short lock;
/// a dedicated thread swaps buffers and sends, so frames queued while a send is in flight go out
/// together in one syscall (sender-side batching) and no producer ever blocks on the socket.
/// </summary>
internal sealed class OutboundConnection : IDisposable
{
    private readonly Func<Socket> _connect;
    private readonly Action<string> _onFailure;
    private Socket? _socket;
    private readonly object _gate = new();
    private readonly Doorbell _doorbell = new();
    private readonly Thread _thread;
    private byte[] _staging = ArrayPool<byte>.Shared.Rent(256 << 10);
    private byte[] _sending = ArrayPool<byte>.Shared.Rent(256 << 10);
    private int _stagedLength;
    private volatile bool _closing;
    private volatile bool _failed;

    /// <summary>
    /// Starts the sending thread; it first calls <paramref name="connect"/> (dial and say hello), so frames can
    /// be queued at once, even for a peer that is still being dialled.
    /// </summary>
    public OutboundConnection(int peerId, Func<Socket> connect, Action<string> onFailure)
    {
        PeerId = peerId;
        _connect = connect;
        _onFailure = onFailure;
        _thread = new Thread(SendLoop) { IsBackground = true, Name = $"derecho-send-{peerId}" };
        _thread.Start();
    }

    public int PeerId { get; }

    public void Append(in FrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (_failed) return;
        lock (_gate)
        {
            var needed = _stagedLength + FrameHeader.Size + payload.Length;
            if (needed > _staging.Length) Grow(needed);
            header.WriteTo(_staging.AsSpan(_stagedLength));
            payload.CopyTo(_staging.AsSpan(_stagedLength + FrameHeader.Size));
            _stagedLength = needed;
        }
    }

    public void Kick() => _doorbell.Ring();

    /// <summary>Sends what is staged, then stops the thread. Used on graceful leave.</summary>
    public void Close(TimeSpan drainTimeout)
    {
        _closing = true;
        _doorbell.Ring();
        _thread.Join(drainTimeout);
        var socket = Volatile.Read(ref _socket);
        if (socket is null) return;
        try { socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        socket.Dispose();
    }

    public void Dispose() => Close(TimeSpan.FromSeconds(5));

    private void Grow(int needed)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _staging.Length * 2));
        _staging.AsSpan(0, _stagedLength).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_staging);
        _staging = bigger;
    }

    private void SendLoop()
    {
        try
        {
            Volatile.Write(ref _socket, _connect());
            while (true)
            {
                int length;
                lock (_gate)
                {
                    (_staging, _sending) = (_sending, _staging);
                    length = _stagedLength;
                    _stagedLength = 0;
                }
                if (length > 0)
                {
                    SendAll(_sending.AsSpan(0, length));
                    continue; // more may have been staged while we were sending
                }
                if (_closing) return;
                _doorbell.Wait(100);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or TransportException)
        {
            _failed = true;
            if (!_closing) _onFailure($"send to member {PeerId} failed: {e.Message}");
        }
    }

    private void SendAll(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var sent = _socket!.Send(data);
            data = data[sent..];
        }
    }
}
