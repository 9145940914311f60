using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Derecho.Security;

namespace Derecho.Transport;

/// <summary>
/// The start of every connection. With TLS: the TLS 1.3 handshake (both sides present certificates), each side
/// checks the other's certificate and identity. Then the dialler says hello (its id, the group's fingerprint) and
/// the acceptor answers Welcome, or Refused with the reason, so a refused peer learns why instead of timing out.
/// </summary>
internal static class Handshake
{
    private const int MaxReasonBytes = 4096;
    private const byte TlsHandshakeRecord = 0x16;

    /// <summary>
    /// The handshake did not succeed. <see cref="Final"/>: the peer refused us, or we refused its certificate, so
    /// asking again gets the same answer; otherwise (a dropped connection, a timeout, a busy peer) the dialler retries.
    /// </summary>
    internal sealed class RefusedException(string message, bool final) : IOException(message)
    {
        public bool Final { get; } = final;
    }

    private const byte TransientRefusal = 1; // in the Region byte of a Refused frame: try again later

    /// <summary>
    /// The accepting side, on the connection's own thread. Returns the link, or null with <paramref name="reason"/>
    /// (already told to the peer where it can be).
    /// </summary>
    public static PeerLink? Accept(Socket socket, TcpTransport owner, InboundConnection connection, out HelloMessage hello, out PeerIdentity? identity, out string? reason)
    {
        hello = default;
        identity = null;
        var timeout = (int)owner.Options.HelloTimeout.TotalMilliseconds;
        socket.ReceiveTimeout = socket.SendTimeout = timeout;
        // One deadline for the whole handshake: a peer trickling a byte per read timeout must not keep its slot.
        var state = 0; // 0 running, 1 done, 2 expired
        using var deadline = new Timer(_ => { if (Interlocked.CompareExchange(ref state, 2, 0) == 0) socket.Close(); }, null, timeout, Timeout.Infinite);
        Stream stream = new NetworkStream(socket, ownsSocket: false);
        try
        {
            if (owner.Options.Tls is { } tls)
            {
                if (PeekIsPlaintext(socket, timeout))
                {
                    reason = "a plaintext peer connected, but this member requires TLS";
                    Send(stream, Refusal($"member {owner.LocalId} requires TLS: configure Tls (Derecho:Tls, or the client's Tls) with a trusted certificate"));
                    return Fail(stream);
                }
                var ssl = new SslStream(Coalesced(stream), leaveInnerStreamOpen: false);
                stream = ssl;
                var presented = new X509Certificate2Collection();
                ssl.AuthenticateAsServer(tls.ServerOptions(presented));
                (identity, var refusal) = tls.Check(ssl.RemoteCertificate, presented);
                if (refusal is not null)
                {
                    reason = $"refused its certificate: {refusal}";
                    Send(stream, Refusal($"member {owner.LocalId} refused your certificate: {refusal}"));
                    return Fail(stream);
                }
            }
            var header = ReadHeader(stream, out reason);
            if (reason is not null) return Fail(stream);
            if (header.Type == FrameType.Refused)
            {
                reason = $"it refused this member: {ReadReason(stream, header.Length)}";
                return Fail(stream);
            }
            if (header.Type != FrameType.Hello || header.Length != HelloMessage.Size)
            {
                reason = $"first frame was {header.Type} of {header.Length} bytes, expected a hello of {HelloMessage.Size}";
                return Fail(stream);
            }
            Span<byte> body = stackalloc byte[HelloMessage.Size];
            try
            {
                stream.ReadExactly(body);
            }
            catch (EndOfStreamException)
            {
                reason = "truncated hello";
                return Fail(stream);
            }
            hello = HelloMessage.Read(body);
            (reason, var transient) = owner.ValidateHello(hello, identity, connection);
            if (reason is not null)
            {
                Send(stream, Refusal($"member {owner.LocalId} refused the connection: {reason}", transient));
                return Fail(stream);
            }
            Send(stream, Frame(FrameType.Welcome, 0, []));
            if (Interlocked.CompareExchange(ref state, 1, 0) != 0) throw new TimeoutException();
            socket.ReceiveTimeout = socket.SendTimeout = 0;
            return new PeerLink(socket, stream);
        }
        catch (Exception e) // a stranger's bytes may break TLS or X.509 code in any way: the connection goes, the member stays
        {
            var timedOut = Volatile.Read(ref state) == 2 || (e as SocketException ?? e.InnerException as SocketException)?.SocketErrorCode == SocketError.TimedOut;
            var what = stream is SslStream { IsAuthenticated: false } ? "TLS handshake" : "handshake";
            reason = timedOut ? $"{what} failed: not finished within the hello deadline of {owner.Options.HelloTimeout.TotalSeconds:0.#}s"
                : $"{what} failed: {(e is IOException or AuthenticationException or SocketException ? "" : e.GetType().Name + ": ")}{e.Message}";
            return Fail(stream);
        }
    }

    /// <summary>
    /// The dialling side, on a connected socket: TLS if configured, our hello, the acceptor's answer. Throws
    /// <see cref="RefusedException"/> for a refusal either way (untrusted certificate, wrong identity, wrong group).
    /// </summary>
    public static async Task<PeerLink> DialAsync(Socket socket, int peer, IPEndPoint endpoint, TcpTransport owner, CancellationToken cancellationToken)
    {
        var who = $"member {peer} at {endpoint}";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(owner.Options.HelloTimeout);
        Stream stream = new NetworkStream(socket, ownsSocket: false);
        try
        {
            if (owner.Options.Tls is { } tls)
            {
                var ssl = new SslStream(Coalesced(stream), leaveInnerStreamOpen: false);
                stream = ssl;
                var presented = new X509Certificate2Collection();
                try
                {
                    await ssl.AuthenticateAsClientAsync(tls.ClientOptions(peer, presented), deadline.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is AuthenticationException or IOException)
                {
                    // Also what a busy member that closed at once looks like: retried until the dial deadline.
                    throw new RefusedException($"TLS handshake with {who} failed: {e.Message} (is it configured for TLS?)", final: false);
                }
                var (identity, refusal) = tls.Check(ssl.RemoteCertificate, presented);
                refusal ??= owner.ExpectedIdentity(peer, identity!.Value);
                if (refusal is not null)
                {
                    await SendAsync(stream, Refusal($"member {owner.LocalId} refused your certificate: {refusal}"), deadline.Token).ConfigureAwait(false);
                    throw new RefusedException($"{who} presented a certificate this process refuses: {refusal}", final: true);
                }
            }
            var hello = new byte[FrameHeader.Size + HelloMessage.Size];
            new FrameHeader(FrameType.Hello, 0, HelloMessage.Size, 0).WriteTo(hello);
            new HelloMessage(HelloMessage.CurrentVersion, owner.LocalId, owner.Options.GroupFingerprint).WriteTo(hello.AsSpan(FrameHeader.Size));
            await SendAsync(stream, hello, deadline.Token).ConfigureAwait(false);

            var answer = new byte[FrameHeader.Size];
            try
            {
                await stream.ReadExactlyAsync(answer, deadline.Token).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                throw new RefusedException($"{who} closed the connection instead of answering our hello " +
                    (owner.Options.Tls is null ? "(does it require TLS?)" : "(its log says why)"), final: false);
            }
            if (FrameHeader.TryRead(answer, out var header) is { } bad)
                throw answer[0] == TlsHandshakeRecord
                    ? new RefusedException($"{who} answered our hello in TLS, and this process has no Tls configured", final: true)
                    : new RefusedException($"{who} answered our hello with something else ({bad})", final: false);
            if (header.Type == FrameType.Refused)
                throw new RefusedException(await ReadReasonAsync(stream, header.Length, deadline.Token).ConfigureAwait(false), final: header.Region != TransientRefusal);
            if (header.Type != FrameType.Welcome) throw new RefusedException($"{who} answered our hello with a {header.Type} frame", final: false);
            return new PeerLink(socket, stream);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Fail(stream);
            throw new RefusedException($"{who} did not finish the handshake within {owner.Options.HelloTimeout.TotalSeconds:0.#}s", final: false);
        }
        catch (IOException e) when (e is not RefusedException)
        {
            Fail(stream);
            throw new RefusedException($"handshake with {who} failed: {e.Message}", final: false);
        }
        catch
        {
            Fail(stream);
            throw;
        }
    }

    /// <summary>TLS writes a record (16 KB at most) at a time: coalesced, a batch of records is one send.</summary>
    private static CoalescingStream Coalesced(Stream socketStream) => new(socketStream);

    /// <summary>Whether the first bytes are our frame magic: a plaintext dialler at a TLS member.</summary>
    private static bool PeekIsPlaintext(Socket socket, int timeoutMs)
    {
        Span<byte> first = stackalloc byte[2];
        var deadline = Environment.TickCount64 + timeoutMs;
        while (socket.Available < 2 && Environment.TickCount64 < deadline)
        {
            if (!socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead)) continue;
            if (socket.Available == 0) return false; // readable with nothing to read: closed
            Thread.Sleep(20); // one byte so far
        }
        return socket.Receive(first, SocketFlags.Peek) == 2 && BitConverter.ToUInt16(first) == FrameHeader.Magic;
    }

    private static FrameHeader ReadHeader(Stream stream, out string? reason)
    {
        Span<byte> bytes = stackalloc byte[FrameHeader.Size];
        try
        {
            stream.ReadExactly(bytes);
        }
        catch (EndOfStreamException)
        {
            reason = "closed before saying hello";
            return default;
        }
        reason = FrameHeader.TryRead(bytes, out var header);
        if (reason is not null && bytes[0] == TlsHandshakeRecord && stream is not SslStream)
            reason = "a TLS peer connected, but this process has no Tls configured";
        return header;
    }

    private static string ReadReason(Stream stream, int length)
    {
        var bytes = new byte[Math.Min(length, MaxReasonBytes)];
        stream.ReadExactly(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    private static async Task<string> ReadReasonAsync(Stream stream, int length, CancellationToken cancellationToken)
    {
        var bytes = new byte[Math.Min(length, MaxReasonBytes)];
        await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        return Encoding.UTF8.GetString(bytes);
    }

    private static byte[] Refusal(string reason, bool transient = false)
    {
        var text = Encoding.UTF8.GetBytes(reason);
        return Frame(FrameType.Refused, transient ? TransientRefusal : (byte)0, text.AsSpan(0, Math.Min(text.Length, MaxReasonBytes)));
    }

    private static byte[] Frame(FrameType type, byte region, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[FrameHeader.Size + payload.Length];
        new FrameHeader(type, region, payload.Length, 0).WriteTo(frame);
        payload.CopyTo(frame.AsSpan(FrameHeader.Size));
        return frame;
    }

    private static void Send(Stream stream, byte[] frame)
    {
        try { stream.Write(frame); stream.Flush(); }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { } // the peer is gone: nothing to tell
    }

    private static async Task SendAsync(Stream stream, byte[] frame, CancellationToken cancellationToken)
    {
        try { await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false); await stream.FlushAsync(cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
    }

    private static PeerLink? Fail(Stream stream)
    {
        try { stream.Dispose(); } catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        return null;
    }
}
