using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Derecho.Tests.Support;

/// <summary>A hand-made peer that speaks TLS with any certificate, says hello as anyone, and reports what the member answered.</summary>
internal sealed class TlsProbe : IAsyncDisposable
{
    private readonly TcpClient _tcp;

    private TlsProbe(TcpClient tcp, SslStream stream)
    {
        _tcp = tcp;
        Stream = stream;
    }

    public SslStream Stream { get; }

    /// <summary>The member's answer to the hello: null for Welcome, else the reason it gave (or how the connection ended).</summary>
    public string? Refusal { get; private set; }

    public static async Task<TlsProbe> HelloAsync(int port, X509Certificate2 certificate, int helloId, ulong fingerprint)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "derecho",
            EnabledSslProtocols = SslProtocols.Tls13,
            ClientCertificateContext = SslStreamCertificateContext.Create(certificate, null, offline: true),
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null, // an attacker takes any member
        });
        var probe = new TlsProbe(tcp, ssl);
        try { await ssl.WriteAsync(RawFrames.HelloFrom(helloId, fingerprint)); }
        catch (IOException) { } // refused before the hello: the refusal is still there to read
        probe.Refusal = await probe.ReadAnswerAsync();
        return probe;
    }

    public async Task SendAsync(byte[] frame) => await Stream.WriteAsync(frame);

    /// <summary>Whether the member closed the connection within the timeout.</summary>
    public async Task<bool> ClosedAsync(TimeSpan timeout)
    {
        var buffer = new byte[256];
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            while (await Stream.ReadAsync(buffer, deadline.Token) > 0) { }
            return true;
        }
        catch (IOException) { return true; }
        catch (OperationCanceledException) { return false; }
    }

    private async Task<string?> ReadAnswerAsync()
    {
        var header = new byte[16];
        try { await Stream.ReadExactlyAsync(header); }
        catch (Exception e) when (e is IOException or EndOfStreamException) { return $"closed without an answer: {e.Message}"; }
        var length = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4));
        if (header[2] == 4) return null;
        var reason = new byte[length];
        await Stream.ReadExactlyAsync(reason);
        return header[2] == 5 ? Encoding.UTF8.GetString(reason) : $"unexpected frame type {header[2]}";
    }

    public async ValueTask DisposeAsync()
    {
        await Stream.DisposeAsync();
        _tcp.Dispose();
    }
}
