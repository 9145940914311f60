using System.Buffers.Binary;
using Derecho.Persistence;
using Derecho.Rpc;
using Derecho.Wire;

namespace Derecho.Replication;

/// <summary>
/// A shard replica's table of external clients' sessions: per client, the outcome (reply status and bytes) of each
/// call it may still re-send, so a re-sent call is answered with its original reply and not applied again. It is
/// replicated state: every replica changes it alike, in delivery order (the agreed time drives expiry), it goes with
/// the shard's state to a new member, and each change is an entry of the record its call made in the replica's log
/// (the call and its outcome are durable together, and a restart replays both).
/// </summary>
/// <remarks>
/// A client's floor is the lowest sequence it still waits for: it re-sends nothing below it, so the outcomes below
/// it are forgotten, and a call below it that still arrives (a late copy through an old contact) is not applied.
/// Sessions idle for <see cref="Expiry"/> of agreed time are forgotten; a client gives up re-sending long before.
/// </remarks>
internal sealed class ClientSessions : ReplicaLog.ILoggedField
{
    /// <summary>How long an idle session is kept, in the shard's agreed time; far beyond any client's request timeout.</summary>
    public static readonly TimeSpan Expiry = TimeSpan.FromMinutes(30);

    /// <summary>Outcomes kept per client at most: past it the oldest go, as if the client had raised its floor.</summary>
    public const int MaxOutcomesPerClient = 1 << 16;

    public const string FieldName = "derecho.client-sessions";

    private readonly Dictionary<int, Session> _sessions = new();
    private ReplicaLog? _log;
    private uint _key;
    private long _nextExpiryScan;

    public string Name => FieldName;

    /// <summary>Clients with a session here.</summary>
    public int Count => _sessions.Count;

    /// <summary>What the table says of a call of a session.</summary>
    public enum Verdict
    {
        /// <summary>Not seen: apply it, then <see cref="Record"/> its outcome.</summary>
        New,

        /// <summary>Applied before: answer with <c>outcome</c>, do not apply again.</summary>
        Duplicate,

        /// <summary>Below the client's floor: its outcome is forgotten; do not apply it.</summary>
        Expired,
    }

    /// <summary>Joins the replica's log (after its constructor created its fields): its entries are replayed at once.</summary>
    public void Attach(ReplicaLog log)
    {
        _log = log;
        _key = log.Register(this);
    }

    public Verdict Check(ClientSession call, out Outcome outcome)
    {
        outcome = default;
        if (!_sessions.TryGetValue(call.Client, out var session)) return Verdict.New;
        if (call.Sequence < session.Floor) return Verdict.Expired;
        return session.Outcomes.TryGetValue(call.Sequence, out outcome) ? Verdict.Duplicate : Verdict.New;
    }

    /// <summary>
    /// Records the outcome of a new call of a session, delivered at <paramref name="delivery"/>: in the table and, when
    /// the replica has a log, as an entry of the record the delivery is about to commit.
    /// </summary>
    public void Record(ClientSession call, ReplyStatus status, ReadOnlySpan<byte> reply, in DeliveryInfo delivery)
    {
        Apply(call, status, reply.ToArray(), delivery.Version, delivery.Timestamp.Ticks);
        if (_log is null) return;
        var entry = _log.BeginEntry(_key, 0, delivery.Version, delivery.Timestamp);
        var span = entry.GetSpan(EntryHeader + reply.Length);
        WriteEntry(span, call, status, reply);
        entry.Advance(EntryHeader + reply.Length);
        _log.EndEntry();
    }

    private const int EntryHeader = 24; // [client i32][status u8][pad 3][sequence i64][floor i64]

    private static void WriteEntry(Span<byte> at, ClientSession call, ReplyStatus status, ReadOnlySpan<byte> reply)
    {
        BinaryPrimitives.WriteInt32LittleEndian(at, call.Client);
        at[4] = (byte)status;
        at.Slice(5, 3).Clear();
        BinaryPrimitives.WriteInt64LittleEndian(at[8..], call.Sequence);
        BinaryPrimitives.WriteInt64LittleEndian(at[16..], call.Floor);
        reply.CopyTo(at[EntryHeader..]);
    }

    void ReplicaLog.ILoggedField.Replay(long version, long ticks, uint flags, ReadOnlySpan<byte> payload)
    {
        if (payload.Length < EntryHeader) throw new InvalidDataException($"client session entry of version {version} has {payload.Length} bytes");
        var call = new ClientSession(BinaryPrimitives.ReadInt32LittleEndian(payload), BinaryPrimitives.ReadInt64LittleEndian(payload[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(payload[16..]));
        Apply(call, (ReplyStatus)payload[4], payload[EntryHeader..].ToArray(), version, ticks);
    }

    /// <summary>The one change of the table, live and in replay alike: expire idle sessions, raise the floor, keep the outcome.</summary>
    private void Apply(ClientSession call, ReplyStatus status, byte[] reply, long version, long ticks)
    {
        ExpireIdle(ticks);
        if (!_sessions.TryGetValue(call.Client, out var session)) _sessions[call.Client] = session = new Session();
        session.LastTicks = ticks;
        session.RaiseFloor(call.Floor);
        if (call.Sequence < session.Floor) return;
        session.Keep(call.Sequence, new Outcome(status, reply, version));
    }

    /// <summary>Forgets sessions idle for <see cref="Expiry"/>; looks at most once per sixteenth of it (agreed time).</summary>
    private void ExpireIdle(long ticks)
    {
        if (ticks < _nextExpiryScan) return;
        _nextExpiryScan = ticks + Expiry.Ticks / 16;
        List<int>? idle = null;
        foreach (var (client, session) in _sessions)
            if (ticks - session.LastTicks > Expiry.Ticks) (idle ??= new()).Add(client);
        if (idle is null) return;
        foreach (var client in idle) _sessions.Remove(client);
    }

    /// <summary>Oldest version whose record holds an outcome still kept: the log keeps it for a restart.</summary>
    public long NeededFrom
    {
        get
        {
            var oldest = long.MaxValue;
            foreach (var session in _sessions.Values) oldest = Math.Min(oldest, session.OldestVersion);
            return oldest;
        }
    }

    /// <summary>Drops outcomes recorded after <paramref name="version"/> (the log was cut there); a floor raised by them stays raised, which only refuses re-sends.</summary>
    public void DropAfter(long version)
    {
        foreach (var session in _sessions.Values) session.DropAfter(version);
    }

    /// <summary>Writes the table for state transfer: <c>[next scan i64][count i32]</c>, per client in id order <c>[client i32][floor i64][last ticks i64][outcomes i32]</c>, per outcome <c>[sequence i64][version i64][status u8][length i32][bytes]</c>.</summary>
    public void WriteTo(PooledBufferWriter buffer)
    {
        var writer = new SpanAppender(buffer);
        writer.Int64(_nextExpiryScan);
        writer.Int32(_sessions.Count);
        foreach (var client in _sessions.Keys.Order())
        {
            var session = _sessions[client];
            writer.Int32(client);
            writer.Int64(session.Floor);
            writer.Int64(session.LastTicks);
            writer.Int32(session.Outcomes.Count);
            foreach (var sequence in session.Outcomes.Keys.Order())
            {
                var outcome = session.Outcomes[sequence];
                writer.Int64(sequence);
                writer.Int64(outcome.Version);
                writer.Byte((byte)outcome.Status);
                writer.Int32(outcome.Reply.Length);
                writer.Bytes(outcome.Reply);
            }
        }
    }

    /// <summary>Replaces the table with one <see cref="WriteTo"/> wrote; throws <see cref="InvalidDataException"/> (table unchanged) if it is malformed.</summary>
    public void ReadFrom(ReadOnlySpan<byte> state)
    {
        var reader = new WireReader(state);
        var nextScan = reader.ReadInt64();
        var count = reader.ReadInt32();
        if (count < 0 || count > reader.Remaining / 24) reader.Fail();
        var sessions = new Dictionary<int, Session>();
        for (var i = 0; i < count && reader.Ok; i++)
        {
            var client = reader.ReadInt32();
            var session = new Session { LastTicks = 0 };
            session.RaiseFloor(reader.ReadInt64());
            session.LastTicks = reader.ReadInt64();
            var outcomes = reader.ReadInt32();
            if (outcomes < 0 || outcomes > reader.Remaining / 21 || !sessions.TryAdd(client, session)) reader.Fail();
            for (var j = 0; j < outcomes && reader.Ok; j++)
            {
                var sequence = reader.ReadInt64();
                var version = reader.ReadInt64();
                var status = (ReplyStatus)reader.ReadByte();
                var reply = reader.ReadBytes(reader.ReadInt32());
                if (reader.Ok && sequence >= session.Floor) session.Keep(sequence, new Outcome(status, reply.ToArray(), version));
            }
        }
        if (!reader.AtEnd) throw new InvalidDataException($"the client session table of {state.Length} bytes is malformed");
        _sessions.Clear();
        foreach (var (client, session) in sessions) _sessions[client] = session;
        _nextExpiryScan = nextScan;
    }

    /// <summary>A call's outcome as the replica answered it, and the version of the record that holds it.</summary>
    public readonly record struct Outcome(ReplyStatus Status, byte[] Reply, long Version);

    private sealed class Session
    {
        private readonly PriorityQueue<long, long> _bySequence = new(); // what to forget when the floor rises

        public Dictionary<long, Outcome> Outcomes { get; } = new();

        public long Floor { get; private set; }

        public long LastTicks { get; set; }

        public long OldestVersion
        {
            get
            {
                var oldest = long.MaxValue;
                foreach (var outcome in Outcomes.Values) oldest = Math.Min(oldest, outcome.Version);
                return oldest;
            }
        }

        public void RaiseFloor(long floor)
        {
            if (floor <= Floor) return;
            Floor = floor;
            while (_bySequence.TryPeek(out var sequence, out _) && sequence < floor)
            {
                _bySequence.Dequeue();
                Outcomes.Remove(sequence);
            }
        }

        public void Keep(long sequence, Outcome outcome)
        {
            if (!Outcomes.TryAdd(sequence, outcome)) return;
            _bySequence.Enqueue(sequence, sequence);
            if (Outcomes.Count > MaxOutcomesPerClient && _bySequence.TryPeek(out var oldest, out _)) RaiseFloor(oldest + 1);
        }

        public void DropAfter(long version)
        {
            List<long>? dropped = null;
            foreach (var (sequence, outcome) in Outcomes)
                if (outcome.Version > version) (dropped ??= new()).Add(sequence);
            if (dropped is null) return;
            foreach (var sequence in dropped) Outcomes.Remove(sequence);
            var kept = Outcomes.Keys.ToList();
            _bySequence.Clear();
            foreach (var sequence in kept) _bySequence.Enqueue(sequence, sequence);
        }
    }

    /// <summary>Little-endian appends to a pooled buffer.</summary>
    private readonly ref struct SpanAppender(PooledBufferWriter buffer)
    {
        public void Byte(byte value)
        {
            buffer.GetSpan(1)[0] = value;
            buffer.Advance(1);
        }

        public void Int32(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer.GetSpan(4), value);
            buffer.Advance(4);
        }

        public void Int64(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(buffer.GetSpan(8), value);
            buffer.Advance(8);
        }

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(buffer.GetSpan(bytes.Length));
            buffer.Advance(bytes.Length);
        }
    }
}
