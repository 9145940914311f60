using Derecho.Membership;
using Derecho.Security;

namespace Derecho.Client;

/// <summary>How an external client reaches a group. The sizes and name must match the members' options.</summary>
public sealed class DerechoClientOptions
{
    /// <summary>Members to try, in order, as the first contact (any member will do).</summary>
    public List<MemberOptions> Contacts { get; set; } = new();

    /// <summary>Where this client listens for replies ("host:port", port 0 = any free port).</summary>
    public string ListenEndpoint { get; set; } = "127.0.0.1:0";

    /// <summary>Mutual TLS with the members: this client's certificate (naming it <c>derecho://client/&lt;name&gt;</c>) and whom it trusts.</summary>
    public TlsOptions? Tls { get; set; }

    /// <summary>Listen on a non-loopback address without <see cref="Tls"/> (members without TLS accept anyone; replies travel in the clear).</summary>
    public bool AllowInsecure { get; set; }

    /// <summary>Same as the members' <c>Derecho:GroupName</c>.</summary>
    public string GroupName { get; set; } = "derecho";

    /// <summary>Same as the members' <c>Derecho:RingBytes</c> (part of the group fingerprint).</summary>
    public int RingBytes { get; set; } = 8 << 20;

    /// <summary>Same as the members' <c>Derecho:MaxPayloadBytes</c> (part of the group fingerprint).</summary>
    public int MaxPayloadBytes { get; set; } = 1 << 20;

    /// <summary>How long a call may wait for its replies before failing with a <see cref="Errors.CallTimeoutException"/>.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Largest trigger batch (one frame of events to one member), in bytes; capped at <see cref="MaxPayloadBytes"/>.
    /// A batch goes when it is full or at once when nothing is in flight to the member.
    /// </summary>
    public int MaxTriggerBatchBytes { get; set; } = 64 << 10;

    /// <summary>
    /// Trigger bytes sent to one member and not yet acknowledged (accepted) by it. When the window is full, events
    /// wait unsent and their tasks complete only once there is room and the member accepted them.
    /// </summary>
    public long MaxTriggerBytesInFlight { get; set; } = 1 << 20;

    /// <summary>
    /// Trigger bytes per member that may wait unsent behind a full <see cref="MaxTriggerBytesInFlight"/> window. An
    /// event beyond it is not queued: the stub returns a task faulted with a
    /// <see cref="Errors.TriggerNotAcceptedException"/> ("trigger window full"). Memory stays bounded however many
    /// tasks a fire-and-forget caller ignores.
    /// </summary>
    public long MaxTriggerBytesQueued { get; set; } = 4 << 20;

    /// <summary>
    /// Notifications a subscription may hold received but not yet read by its enumeration; beyond, the client stops
    /// reading from the member serving it (TCP back-pressure), and that member cuts the subscription off if it falls
    /// more than its Derecho:MaxNotificationLag behind.
    /// </summary>
    public int NotificationBuffer { get; set; } = 8192;

    /// <summary>
    /// Ordered calls in a session (on by default): each carries this client's id and a sequence number; when the member
    /// relaying a call is lost, stops answering (<see cref="ContactTimeout"/>) or cannot see it through, the client sends
    /// it again through another member of the shard, and the replicas answer a call they applied before with its
    /// original replies instead of applying it twice. Off, such a call fails with "may or may not have been applied".
    /// </summary>
    public bool ExactlyOnce { get; set; } = true;

    /// <summary>
    /// A member with calls in flight that sends nothing for a third of this is asked for a sign of life; one that does
    /// not answer within the rest is treated as lost (a paused or partitioned contact), as if its connection broke.
    /// </summary>
    public TimeSpan ContactTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long to try the contacts before giving up.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
