namespace Derecho.Transport;

/// <summary>
/// Under TLS: collects the records TLS writes (16 KB at most each) and sends them in one call on <see cref="Flush"/>
/// or when the buffer fills, and reads what the socket has into a buffer TLS takes its records from, so a batch
/// costs a few system calls, not one per record in each direction. Reads and writes keep separate buffers (TLS
/// may write while records it has not read yet wait here). Used by one thread at a time.
/// </summary>
internal sealed class CoalescingStream(Stream inner, int bufferBytes = 256 << 10) : Stream
{
    // Made on first use: an accepting link hardly writes, a dialling one hardly reads.
    private byte[]? _buffer;
    private int _length;
    private byte[]? _received;
    private int _receivedStart;
    private int _receivedEnd;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> destination)
    {
        if (_receivedStart == _receivedEnd)
        {
            if (destination.Length >= bufferBytes) return inner.Read(destination);
            _received ??= new byte[bufferBytes];
            _receivedStart = 0;
            _receivedEnd = inner.Read(_received);
        }
        var take = Math.Min(destination.Length, _receivedEnd - _receivedStart);
        _received!.AsSpan(_receivedStart, take).CopyTo(destination);
        _receivedStart += take;
        return take;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        // The handshake's reads: whatever is buffered first, then straight from the socket.
        if (_receivedStart == _receivedEnd) return await inner.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
        var take = Math.Min(destination.Length, _receivedEnd - _receivedStart);
        _received!.AsMemory(_receivedStart, take).CopyTo(destination);
        _receivedStart += take;
        return take;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> data)
    {
        if (_length + data.Length > bufferBytes) Flush();
        if (data.Length >= bufferBytes) { inner.Write(data); return; }
        _buffer ??= new byte[bufferBytes];
        data.CopyTo(_buffer.AsSpan(_length));
        _length += data.Length;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        // The handshake's writes: few and small, sent at once.
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        await inner.WriteAsync(data, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
        if (_length == 0) return;
        inner.Write(_buffer!.AsSpan(0, _length));
        _length = 0;
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_length == 0) return;
        await inner.WriteAsync(_buffer!.AsMemory(0, _length), cancellationToken).ConfigureAwait(false);
        _length = 0;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
