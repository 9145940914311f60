using System.Net;

namespace Derecho.Transport;

/// <summary>Where every member listens and how long to wait for them.</summary>
internal sealed record TcpTransportOptions
{
    /// <summary>This member's id.</summary>
    public required int LocalId { get; init; }

    /// <summary>Every member of the group (this one included) and the endpoint it listens on.</summary>
    public required IReadOnlyDictionary<int, IPEndPoint> Endpoints { get; init; }

    /// <summary>Hash of the group configuration; a peer with another fingerprint is refused.</summary>
    public ulong GroupFingerprint { get; init; }

    /// <summary>How long to keep dialling a peer (and to wait for its dial) before giving up.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest two-sided message accepted; bigger frames are a protocol violation.</summary>
    public int MaxMessageBytes { get; init; } = 16 << 20;

    /// <summary>Time a new connection gets for its handshake (TLS and hello).</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Connections accepted and not through their handshake yet; more are closed at once (a flood of strangers).</summary>
    public int MaxPendingHandshakes { get; init; } = 64;

    /// <summary>Of those, how many may come from one address.</summary>
    public int MaxPendingHandshakesPerAddress { get; init; } = 16;

    /// <summary>Connections one client certificate (TLS) may hold to this member at once.</summary>
    public int MaxConnectionsPerClient { get; init; } = 32;

    /// <summary>Largest message an external client may send (a call and its arguments); null: <see cref="MaxMessageBytes"/>.</summary>
    public int? MaxClientMessageBytes { get; init; }

    /// <summary>This process's certificate and whom it trusts; null: plaintext (loopback, or AllowInsecure).</summary>
    public Security.TlsCredentials? Tls { get; init; }
}
