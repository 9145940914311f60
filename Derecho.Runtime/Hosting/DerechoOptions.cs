using Derecho.Errors;
using Derecho.Membership;
using Derecho.Security;

namespace Derecho.Hosting;

/// <summary>
/// Configuration of one member. Bindable from <c>IConfiguration</c> (section "Derecho"); every member of
/// a group must be given the same member list and sizes (a fingerprint of them is checked on connect).
/// </summary>
public sealed class DerechoOptions
{
    /// <summary>This member's id; must appear in <see cref="Members"/>.</summary>
    public int MyId { get; set; } = -1;

    /// <summary>
    /// Every member of the group with the endpoint ("host:port") it listens on, this member included.
    /// With <see cref="Join"/>, the others are contacts: members of the running group to ask for admission.
    /// </summary>
    public List<MemberOptions> Members { get; set; } = new();

    /// <summary>
    /// Join a group that is already running (a new member, or a crashed one restarting as a new incarnation)
    /// instead of forming it: ask the other listed members to be added, receive the replicas' state, start.
    /// </summary>
    public bool Join { get; set; }

    /// <summary>
    /// Versions every versioned field keeps (older ones are trimmed, whole log segments deleted); 0 keeps all.
    /// </summary>
    public int RetainVersions { get; set; }

    /// <summary>
    /// When true (default), a replica answers an ordered call that created a version of a <c>Persistent&lt;T&gt;</c>
    /// field only once that version is on its disk (fsynced, group commit), so a call whose replies all
    /// arrived is durable at every replica. When false it answers at delivery and the disk catches up.
    /// </summary>
    public bool ReplyWhenPersisted { get; set; } = true;

    /// <summary>Where <c>Persistent&lt;T&gt;</c> logs live; this member uses the subfolder <c>member-{MyId}</c>.</summary>
    public string DataDirectory { get; set; } = "derecho-data";

    /// <summary>
    /// "tcp" (default, works across hosts) or "rdma": probe for RDMA devices through libibverbs. This version
    /// has no verbs data path yet, so "rdma" reports what the probe found and runs over TCP.
    /// </summary>
    public string Transport { get; set; } = "tcp";

    /// <summary>
    /// Mutual TLS for every connection (members and clients), with member ids bound to certificates. Required when
    /// this member listens on an address other than loopback, unless <see cref="AllowInsecure"/> is set.
    /// </summary>
    public TlsOptions? Tls { get; set; }

    /// <summary>
    /// Listen on a non-loopback address without <see cref="Tls"/>: anyone who can reach the port can then join, call
    /// and read state. Logged as a warning on every start.
    /// </summary>
    public bool AllowInsecure { get; set; }

    /// <summary>
    /// Which external clients (by the name in their certificate) may call which replicated types (by type name, or
    /// "*" for all), checked before a call is relayed or served. Empty: every client with a trusted certificate may
    /// call every type. Needs <see cref="Tls"/>.
    /// </summary>
    public Dictionary<string, List<string>> AuthorizedClients { get; set; } = new();

    /// <summary>
    /// Notifications (<c>OrderedContext.Notify</c>) each member keeps per shard, newest first, so a subscriber that moves
    /// to this member after its own failed can resume where it was. Older ones are dropped; a subscriber asking for a
    /// position before the oldest kept gets a <c>NotificationGapException</c>, never a silent skip.
    /// </summary>
    public int NotificationRetention { get; set; } = 4096;

    /// <summary>Payload bytes of the notifications each member keeps per shard (the oldest are dropped first above it).</summary>
    public long NotificationRetentionBytes { get; set; } = 16 << 20;

    /// <summary>
    /// How many notifications a subscriber may fall behind (recorded here, not yet sent to it because its connection is
    /// full) before this member cuts it off with the reason; a slow subscriber never slows the shard's calls.
    /// </summary>
    public int MaxNotificationLag { get; set; } = 1024;

    /// <summary>Name of the group; members of different groups refuse each other's connections.</summary>
    public string GroupName { get; set; } = "derecho";

    /// <summary>How long to wait for every member to be reachable at start.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a graceful leave waits for the others to deliver everything.</summary>
    public TimeSpan LeaveTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the leader waits for a joiner to acknowledge the view proposed to it. Then it proposes the view
    /// without that joiner, and the members stop forwarding its request (a live joiner that asks again gets in later).
    /// </summary>
    public TimeSpan JoinTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Bytes of each sender's multicast ring (data in flight per sender).</summary>
    public int RingBytes { get; set; } = 8 << 20;

    /// <summary>Largest ordered call, arguments included.</summary>
    public int MaxPayloadBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Trigger events (bytes of their batches) accepted by this member and not yet handled. A batch that would
    /// exceed it is refused: its sender's tasks fault with a TriggerNotAcceptedException saying the member is overloaded.
    /// </summary>
    public long MaxTriggerQueueBytes { get; set; } = 16 << 20;

    /// <summary>How long a trigger batch this member sent may wait for the receiving member's acknowledgement.</summary>
    public TimeSpan TriggerTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the SST heartbeat counter is bumped.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// A member whose heartbeat has not moved for this long is suspected and removed from the view. A broken
    /// connection (a crashed process) is suspected at once, without waiting for the timeout.
    /// </summary>
    public TimeSpan FailureTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
