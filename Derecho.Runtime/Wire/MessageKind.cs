namespace Derecho.Wire;

/// <summary>
/// The first byte of every two-sided message: one list for the whole protocol, so a number is never taken twice.
/// Fixed-layout messages are little endian; "pad n" bytes are written as zero and ignored on reading.
/// Kinds whose body is MemoryPack read <c>[kind][body]</c> (see <see cref="MessageBodies"/>).
/// </summary>
internal enum MessageKind : byte
{
    // RPC (RpcHeaders).

    /// <summary>
    /// A P2P call: <c>[kind][flags u8][pad 2][type u32][method u32][shard i32][request i64][read at ticks i64][arguments]</c>.
    /// Read-at 0 runs it on the current state; otherwise on the state at that UTC time, once the shard's stable time
    /// frontier passed it (flags bit 0: fail at once instead of waiting).
    /// </summary>
    P2PRequest = 1,
    /// <summary>A call's result: <c>[kind][status u8][pad 2][member i32][request i64][result or UTF-8 error]</c>.</summary>
    Reply = 2,

    // Joins (JoinMessages).

    /// <summary>Joiner to any member: let me in. <c>[kind][pad 3][id i32][endpoint i64]</c>.</summary>
    JoinRequest = 16,
    /// <summary>
    /// Leader to joiner: the view you are proposed into and the last adequate layout.
    /// <c>[kind][pad 3][view i32][proposal i64][count i32][(id i32, pad 4, endpoint i64)…][layout]</c>.
    /// </summary>
    ViewProposal = 17,
    /// <summary>Joiner to leader: prepared for the proposal. <c>[kind][pad 3][id i32][proposal i64]</c>.</summary>
    JoinAck = 18,
    /// <summary>Leader to joiner: committed; install the view. <c>[kind][pad 3][pad 4][proposal i64]</c>.</summary>
    JoinCommit = 19,
    /// <summary>Retired (state transfer now runs as <see cref="ShardStateRequest"/>, <see cref="ShardStateTail"/> and <see cref="ShardStatePart"/>); the number stays taken.</summary>
    RetiredShardState = 20,
    /// <summary>Member to a process that asked to join: refused, and why. <c>[kind][pad 3][reason utf-8]</c>.</summary>
    JoinRefused = 21,
    /// <summary>
    /// A shard's old member to a member new to the shard: the state cannot be sent, and why.
    /// <c>[kind][pad 3][type u32][shard i32][pad 4][view i64][reason utf-8]</c>. Dispatched with the join messages.
    /// </summary>
    ShardStateUnavailable = 22,

    // State transfer (StateTransferMessages): a member new to a shard asks each old member; the one that owes it
    // the state answers with the log records it lacks, then the object state in parts, from a background task.

    /// <summary>Receiver to the shard's old members: <see cref="Wire.ShardStateRequest"/>.</summary>
    ShardStateRequest = 23,

    // Total restart (RestartMessages).

    /// <summary>A starting member to every member it knows of: <see cref="Wire.RestartHello"/>.</summary>
    RestartHello = 24,
    /// <summary>The restart leader to the restart view's members: <see cref="RestartViewMessage"/>.</summary>
    RestartView = 25,
    /// <summary>To a starting member that is not in the restart view (or finds a group running): join it. <see cref="Wire.RestartRejoin"/>.</summary>
    RestartRejoin = 26,
    /// <summary>A member of the restart view has registered its memory for it: <see cref="Wire.RestartReady"/>.</summary>
    RestartReady = 27,
    /// <summary>A member behind the longest log asks its holder for the records after its own: <see cref="Wire.LogTailRequest"/>.</summary>
    LogTailRequest = 28,
    /// <summary>Records of a log tail, in order, several per message: <see cref="LogTailChunk"/>.</summary>
    LogTail = 29,

    // State transfer, continued.

    /// <summary>Sender to receiver, first: log records after the receiver's newest, <see cref="Wire.ShardStateTail"/>.</summary>
    ShardStateTail = 30,
    /// <summary>Sender to receiver, then: a part of the object state, <see cref="Wire.ShardStatePart"/>.</summary>
    ShardStatePart = 31,

    // External clients (ClientMessages).

    /// <summary>Client to member: who I am and where to answer. <c>[kind][pad 3][client id i32][endpoint i64]</c>.</summary>
    ClientHello = 32,
    /// <summary>Member to client: the current view and its layout, laid out as a <see cref="ViewProposal"/> with proposal 0.</summary>
    ViewInfo = 33,
    /// <summary>
    /// Client (or member outside the shard) to a shard member: multicast this ordered call for me.
    /// <c>[kind][pad 3][type u32][method u32][shard i32][client request i64][arguments]</c> (the first 24 bytes of a P2P header, under another kind).
    /// </summary>
    Relay = 34,
    /// <summary>
    /// Member to client: every replica's reply. <c>[kind][pad 3][count i32][client request i64]</c>
    /// then per reply <c>[member i32][status u8][pad 3][length i32][bytes]</c>.
    /// </summary>
    RelayResult = 35,
    /// <summary>
    /// Client (or member) to one shard member: trigger events, neither ordered nor stored (<see cref="TriggerMessages"/>).
    /// <c>[kind][pad 3][count i32][batch i64]</c> then per event <c>[type u32][method u32][shard i32][length i32][arguments]</c>.
    /// </summary>
    TriggerBatch = 36,
    /// <summary>
    /// Member to the batch's sender: accepted (every event queued for its handler) or refused, and why.
    /// <c>[kind][status u8][pad 2][count i32][batch i64][reason utf-8]</c>; count is the number of events accepted (all or none).
    /// </summary>
    TriggerAck = 37,

    // Notifications (NotificationMessages).

    /// <summary>
    /// Client to a shard member: send me the shard's notifications after a position, then every new one.
    /// <c>[kind][has topic u8][pad 2][type u32][shard i32][after index i32][subscription i64][after version i64][topic utf-8]</c>;
    /// after version -1: from the oldest the member retains; no topic: every topic. The subscription id is the client's.
    /// </summary>
    Subscribe = 38,
    /// <summary>
    /// Member to client: notifications of a subscription, in order, several per message.
    /// <c>[kind][pad 3][count i32][subscription i64]</c> then per notification
    /// <c>[version i64][ticks i64][index i32][topic length i32][payload length i32][topic utf-8][payload]</c>.
    /// </summary>
    Notification = 39,
    /// <summary>Client to member: stop the subscription. <c>[kind][pad 3][pad 4][subscription i64]</c>.</summary>
    Unsubscribe = 40,
    /// <summary>
    /// Member to client: the subscription is over, and why (<see cref="SubscriptionEnd"/>).
    /// <c>[kind][reason u8][pad 2][member i32][subscription i64][message utf-8]</c>.
    /// </summary>
    SubscriptionEnded = 41,

    // Status (StatusMessages).

    /// <summary>
    /// Client (or member) to any member: what is your status? <c>[kind][version u8][pad 2][pad 4][request i64]</c>, exactly.
    /// One that names its request but is otherwise malformed is answered with a refusal saying why; a shorter one is dropped.
    /// </summary>
    StatusRequest = 42,
    /// <summary>
    /// Member to the asker: <c>[kind][status u8][pad 2][member i32][request i64]</c>, then (status 0) the member's state,
    /// view, members and shards (<see cref="StatusMessages.Reply"/>), or (status 1) why not, in UTF-8.
    /// </summary>
    StatusReply = 43,
}

/// <summary>Which handler a message kind belongs to.</summary>
internal enum MessageFamily
{
    Unknown,
    Rpc,
    Membership,
    StateTransfer,
    Restart,
    Client,
}

internal static class MessageKinds
{
    /// <summary>The family of a message's first byte; <see cref="MessageFamily.Unknown"/> for a number no message has (or has any more).</summary>
    public static MessageFamily FamilyOf(byte kind) => (MessageKind)kind switch
    {
        MessageKind.P2PRequest or MessageKind.Reply => MessageFamily.Rpc,
        MessageKind.JoinRequest or MessageKind.ViewProposal or MessageKind.JoinAck or MessageKind.JoinCommit
            or MessageKind.JoinRefused or MessageKind.ShardStateUnavailable => MessageFamily.Membership,
        MessageKind.ShardStateRequest or MessageKind.ShardStateTail or MessageKind.ShardStatePart => MessageFamily.StateTransfer,
        MessageKind.RestartHello or MessageKind.RestartView or MessageKind.RestartRejoin or MessageKind.RestartReady
            or MessageKind.LogTailRequest or MessageKind.LogTail => MessageFamily.Restart,
        MessageKind.ClientHello or MessageKind.ViewInfo or MessageKind.Relay or MessageKind.RelayResult
            or MessageKind.TriggerBatch or MessageKind.TriggerAck
            or MessageKind.Subscribe or MessageKind.Notification or MessageKind.Unsubscribe or MessageKind.SubscriptionEnded
            or MessageKind.StatusRequest or MessageKind.StatusReply => MessageFamily.Client,
        _ => MessageFamily.Unknown,
    };
}
