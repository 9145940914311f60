using System.Buffers;
using System.Net.Sockets;
using Derecho.Security;
using Microsoft.Extensions.Logging;

namespace Derecho.Transport;

/// <summary>
/// The receiving half from one peer: a thread reads whatever the socket has, applies every write frame
/// into registered memory and hands messages to the handler, then notifies once per socket read.
/// One notification per read is receiver-side batching at the transport level: a burst of frames
/// costs the protocol loop one wake-up. Any malformed frame drops the connection with its reason.
/// </summary>
internal sealed unsafe class InboundConnection
{
    private const int BufferSize = 256 << 10;

    private readonly Socket _socket;
    private Stream _stream = Stream.Null; // set by the handshake: the socket's stream, or TLS over it
    private readonly TcpTransport _owner;
    private readonly ILogger _logger;
    private readonly byte[] _buffer = new byte[BufferSize];
    private int _start;
    private int _end;
    private volatile bool _closing;

    private readonly System.Net.IPAddress? _from;

    public InboundConnection(Socket socket, TcpTransport owner, System.Net.IPAddress? from, ILogger logger)
    {
        _from = from;
        _socket = socket;
        _owner = owner;
        _logger = logger;
    }

    /// <summary>The id the peer's hello claimed, once the transport let it hold it; -1 before.</summary>
    public int PeerId { get; set; } = -1;

    /// <summary>Whom the peer's certificate names (TLS only).</summary>
    public PeerIdentity? Identity { get; set; }

    private Thread? _thread;

    // Start and Stop may race (a connection accepted while the transport closes): the thread is created and
    // started under this lock, so Stop never joins a thread that is not started yet (ThreadStateException).
    private readonly object _threadGate = new();

    public void Start()
    {
        lock (_threadGate)
        {
            if (_closing) return;
            _thread = new Thread(Run) { IsBackground = true, Name = "derecho-recv" };
            _thread.Start();
        }
    }

    /// <summary>Closes the socket and waits for the reader thread, so registered memory can be freed safely.</summary>
    public void Stop()
    {
        Thread? thread;
        lock (_threadGate)
        {
            Close();
            thread = _thread;
        }
        if (thread is not null && thread != Thread.CurrentThread) thread.Join(TimeSpan.FromSeconds(5));
    }

    public void Close()
    {
        _closing = true;
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        try { _stream.Dispose(); } catch (IOException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
    }

    private void Run()
    {
        var remote = SafeRemote();
        string? reason;
        try
        {
            reason = Greet();
            if (reason is null)
            {
                _owner.OnInboundReady(this);
                reason = ReadFrames();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            reason = _closing ? null : $"socket error: {e.Message}";
        }
        catch (Exception e) // a handler's bug or a frame it could not take: this connection goes, the process stays
        {
            _logger.LogError(e, "Connection from {Peer} failed", PeerId >= 0 ? $"peer {PeerId}" : remote);
            reason = $"{e.GetType().Name}: {e.Message}";
        }

        _owner.OnConnectionClosed(this);
        if (_closing) { Close(); return; }
        if (reason is null)
        {
            // Clean close at a frame boundary: a leaving peer or one that died; the group decides which.
            Close();
            if (PeerId >= 0) _owner.OnInboundFailed(this, "peer closed the connection");
            return;
        }
        if (PeerId < 0)
            _logger.LogWarning("Dropped connection from {Remote}: {Reason}", remote, reason);
        else
            _logger.LogWarning("Dropped connection from member {Peer} ({Remote}): {Reason}", PeerId, remote, reason);
        Close();
        if (PeerId >= 0) _owner.OnInboundFailed(this, reason);
    }

    private string SafeRemote()
    {
        try { return _socket.RemoteEndPoint?.ToString() ?? "?"; } catch (ObjectDisposedException) { return "?"; }
    }

    private string? Greet()
    {
        PeerLink? link;
        PeerIdentity? identity;
        string? refusal;
        try
        {
            link = Handshake.Accept(_socket, _owner, this, out _, out identity, out refusal);
        }
        finally
        {
            _owner.OnHandshakeDone(_from);
        }
        if (link is null) return refusal;
        _stream = link.Stream;
        return null;
    }

    private string? ReadFrames()
    {
        var pendingNotify = false;
        while (true)
        {
            if (_end - _start < FrameHeader.Size)
            {
                // About to block on the socket: tell the protocol loop about everything applied so far.
                if (pendingNotify && _end == _start) { _owner.Handler.OnWritesApplied(PeerId); pendingNotify = false; }
                var error = Fill(FrameHeader.Size, out var eof);
                if (error is not null) return error;
                if (eof is not null) return _end == _start ? null : eof;
            }
            var headerError = FrameHeader.TryRead(_buffer.AsSpan(_start, FrameHeader.Size), out var header);
            if (headerError is not null) return headerError;
            _start += FrameHeader.Size;
            string? frameError = header.Type switch
            {
                // A client may call, never write an SST row or a ring: only members make one-sided writes.
                FrameType.Write when PeerIds.IsClient(PeerId) => $"client {PeerId} sent a one-sided write; only members write SST rows and rings",
                FrameType.Write => ApplyWrite(header),
                FrameType.Message => DeliverMessage(header),
                _ => $"unexpected {header.Type} frame after hello",
            };
            if (frameError is not null) return frameError;
            if (header.Type == FrameType.Write) pendingNotify = true;
        }
    }

    private string? ApplyWrite(in FrameHeader header)
    {
        var kind = (RegionKind)header.Region;
        var target = _owner.AcquireRegion(PeerId, kind, header.Epoch, out var stale);
        if (target is null)
        {
            if (!stale) return $"write to unknown region {header.Region} of view {header.Epoch} (not prepared by this member)";
            _owner.OnWriteDropped(PeerId, kind, header.Epoch, header.Length);
            return Discard(header.Length);
        }
        try
        {
            return Copy(header, target);
        }
        finally
        {
            _owner.ReleaseRegion();
        }
    }

    /// <summary>Consumes the payload of a write for a view this member already left.</summary>
    private string? Discard(int length)
    {
        while (length > 0)
        {
            if (_end == _start)
            {
                var error = Fill(1, out var eof);
                if (error is not null) return error;
                if (eof is not null) return "truncated write frame: connection closed inside a discarded payload";
            }
            var take = Math.Min(length, _end - _start);
            _start += take;
            length -= take;
        }
        return null;
    }

    private string? Copy(in FrameHeader header, InboundTarget target)
    {
        if ((long)header.Offset + header.Length > target.Length)
            return $"write of {header.Length} bytes at offset {header.Offset} overruns region {(RegionKind)header.Region} of {target.Length} bytes";
        var destination = target.Region.Pointer + target.Offset + header.Offset;

        if (target.WordAtomic)
        {
            // Counters: each 8-byte word is published atomically and in order, so a reader never sees a torn counter.
            if ((header.Offset | header.Length) % 8 != 0) return "unaligned write to a counter region";
            var error = Fill(header.Length, out var eof);
            if (error is not null) return error;
            if (eof is not null) return eof;
            fixed (byte* source = &_buffer[_start])
            {
                for (var i = 0; i < header.Length; i += 8)
                    Volatile.Write(ref *(long*)(destination + i), *(long*)(source + i));
            }
            _start += header.Length;
            return null;
        }

        var remaining = header.Length;
        var buffered = Math.Min(remaining, _end - _start);
        _buffer.AsSpan(_start, buffered).CopyTo(new Span<byte>(destination, buffered));
        _start += buffered;
        remaining -= buffered;
        // Large payloads go straight from the socket into registered memory: no second copy.
        var written = buffered;
        while (remaining > 0)
        {
            var read = _stream.Read(new Span<byte>(destination + written, remaining));
            if (read == 0) return $"truncated write frame: connection closed after {written} of {header.Length} payload bytes";
            written += read;
            remaining -= read;
        }
        return null;
    }

    private string? DeliverMessage(in FrameHeader header)
    {
        // A client's messages are calls: they need no room for a log tail, and a header must not pin a large buffer.
        var limit = PeerIds.IsClient(PeerId) ? _owner.Options.MaxClientMessageBytes ?? _owner.Options.MaxMessageBytes : _owner.Options.MaxMessageBytes;
        if (header.Length > limit)
            return $"message of {header.Length} bytes exceeds the limit of {limit}";
        if (header.Length <= BufferSize)
        {
            var error = Fill(header.Length, out var eof);
            if (error is not null) return error;
            if (eof is not null) return eof;
            _owner.Handler.OnMessage(PeerId, _buffer.AsSpan(_start, header.Length));
            _start += header.Length;
            return null;
        }

        var large = ArrayPool<byte>.Shared.Rent(header.Length);
        try
        {
            var buffered = _end - _start;
            _buffer.AsSpan(_start, buffered).CopyTo(large);
            _start = _end = 0;
            var written = buffered;
            while (written < header.Length)
            {
                var read = _stream.Read(large.AsSpan(written, header.Length - written));
                if (read == 0) return $"truncated message frame: connection closed after {written} of {header.Length} bytes";
                written += read;
            }
            _owner.Handler.OnMessage(PeerId, large.AsSpan(0, header.Length));
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(large);
        }
    }

    /// <summary>Reads until at least <paramref name="count"/> bytes are buffered; sets <paramref name="eof"/> if the peer closed first.</summary>
    private string? Fill(int count, out string? eof)
    {
        eof = null;
        if (count > BufferSize) return $"frame of {count} bytes exceeds the receive buffer";
        if (_end - _start >= count) return null;
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        while (_end < count)
        {
            var read = _stream.Read(_buffer.AsSpan(_end));
            if (read == 0)
            {
                eof = $"truncated frame: connection closed with {_end} of {count} expected bytes";
                return null;
            }
            _end += read;
        }
        return null;
    }
}
