using System.Buffers;
using System.Net.Sockets;
using Derecho.Internal;

namespace Derecho.Transport;

/// <summary>
/// The sending half towards one peer. Producers append frames to a staging buffer under a short lock;
/// a dedicated thread swaps buffers and sends, so frames queued while a send is in flight go out
/// together in one syscall (sender-side batching) and no producer ever blocks on the socket.
/// </summary>
internal sealed unsafe class OutboundConnection : IDisposable
{
    /// <summary>Payloads at least this large that sit in stable memory are sent from where they are, not copied.</summary>
    public const int ZeroCopyThreshold = 32 << 10;

    private readonly Func<PeerLink> _connect;
    private readonly Action<string> _onFailure;
    private PeerLink? _link;
    private readonly object _gate = new();
    private readonly Doorbell _doorbell = new();
    private readonly Thread _thread;
    private byte[] _staging = ArrayPool<byte>.Shared.Rent(256 << 10);
    private byte[] _sending = ArrayPool<byte>.Shared.Rent(256 << 10);
    private int _stagedLength;
    // Payloads sent in place: (position in the staged bytes where they go, address, length).
    private List<(int At, nint Address, int Length)> _stagedExternal = new();
    private List<(int At, nint Address, int Length)> _sendingExternal = new();
    private volatile bool _closing;
    private volatile bool _failed;

    /// <summary>
    /// Starts the sending thread; it first calls <paramref name="connect"/> (dial and say hello), so frames can
    /// be queued at once, even for a peer that is still being dialled.
    /// </summary>
    public OutboundConnection(int peerId, Func<PeerLink> connect, Action<string> onFailure)
    {
        PeerId = peerId;
        _connect = connect;
        _onFailure = onFailure;
        _thread = new Thread(SendLoop) { IsBackground = true, Name = $"derecho-send-{peerId}" };
        _thread.Start();
    }

    public int PeerId { get; }

    /// <summary>Bytes queued and not yet taken by the sending thread (back-pressure for bulk senders).</summary>
    public int QueuedBytes => Volatile.Read(ref _stagedLength);

    /// <summary>The dial or a send failed: frames appended from now on are dropped.</summary>
    public bool IsFailed => _failed;

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

    /// <summary>
    /// Queues a frame whose payload is sent straight from <paramref name="payload"/>, which the caller keeps
    /// valid and unchanged until the peer has it (ring memory is reused only after every peer delivered).
    /// </summary>
    public void AppendInPlace(in FrameHeader header, byte* payload, int length)
    {
        if (_failed) return;
        lock (_gate)
        {
            var needed = _stagedLength + FrameHeader.Size;
            if (needed > _staging.Length) Grow(needed);
            header.WriteTo(_staging.AsSpan(_stagedLength));
            _stagedLength = needed;
            _stagedExternal.Add((needed, (nint)payload, length));
        }
    }

    public void Kick() => _doorbell.Ring();

    /// <summary>Sends what is staged, then stops the thread. Used on graceful leave.</summary>
    public void Close(TimeSpan drainTimeout)
    {
        _closing = true;
        _doorbell.Ring();
        _thread.Join(drainTimeout);
        Volatile.Read(ref _link)?.Close();
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
            Volatile.Write(ref _link, _connect());
            while (true)
            {
                int length;
                lock (_gate)
                {
                    (_staging, _sending) = (_sending, _staging);
                    (_stagedExternal, _sendingExternal) = (_sendingExternal, _stagedExternal);
                    length = _stagedLength;
                    _stagedLength = 0;
                }
                if (length > 0)
                {
                    var sent = 0;
                    foreach (var (at, address, size) in _sendingExternal)
                    {
                        SendAll(_sending.AsSpan(sent, at - sent));
                        SendAll(new ReadOnlySpan<byte>((void*)address, size));
                        sent = at;
                    }
                    SendAll(_sending.AsSpan(sent, length - sent));
                    _link!.Stream.Flush(); // TLS buffers records until the batch is complete
                    _sendingExternal.Clear();
                    continue; // more may have been staged while we were sending
                }
                if (_closing)
                {
                    Volatile.Read(ref _link)?.Close(); // Close may have looked before the dial finished
                    return;
                }
                _doorbell.Wait(100);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or TransportException)
        {
            _failed = true;
            if (!_closing) _onFailure($"send to member {PeerId} failed: {e.Message}");
        }
    }

    private void SendAll(ReadOnlySpan<byte> data)
    {
        _link!.Stream.Write(data);
    }
}
