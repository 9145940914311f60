using System.Text;

namespace Derecho.Wire;

/// <summary>One shard of a status answer, as it travels (the member's <c>ShardStatus</c>).</summary>
internal readonly record struct StatusShard(uint TypeId, string Type, int Shard, int Replicas, int MaxReplicas, bool Persistent, long Delivered, long Logged,
    long Persisted, long GloballyPersisted);

/// <summary>
/// A member's status as it travels: its state (the byte of its <c>MemberState</c>: 0 starting, 1 running,
/// 2 inadequate, 3 loading state, 4 stopped), view, members and shards, and the member's clock when it read them.
/// </summary>
internal sealed record StatusAnswer(int Member, byte State, long ViewId, int[] Members, StatusShard[] Shards, string? Reason, long Ticks);

/// <summary>Whether a status reply carries a status or says why there is none (the status byte of <see cref="MessageKind.StatusReply"/>).</summary>
internal enum StatusReplyKind : byte
{
    /// <summary>The body is the member's status.</summary>
    Ok = 0,
    /// <summary>The body is a UTF-8 reason: the request was malformed, or this member cannot say.</summary>
    Refused = 1,
    /// <summary>The body is a UTF-8 reason: <c>Derecho:AuthorizedClients</c> does not let this client read the status.</summary>
    Unauthorized = 2,
}

/// <summary>
/// Encoding and decoding of the status query (layouts at <see cref="MessageKind.StatusRequest"/> and
/// <see cref="MessageKind.StatusReply"/>). Readers never throw: a reply or request that does not parse is false.
/// </summary>
internal static class StatusMessages
{
    /// <summary>The one request layout there is; another version is answered with a refusal naming it.</summary>
    public const byte Version = 1;

    public const int RequestSize = 16;
    public const int ReplyHeaderSize = 16;

    /// <summary>Longest type name or reason, in UTF-8 bytes.</summary>
    public const int MaxTextBytes = 4096;

    private const int FixedBodySize = 24; // state, pad 3, member count, view, ticks
    private const int ShardFixedSize = 56; // type id, type length, shard, replicas, max, persistent, pad 3, four versions

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public static byte[] Request(long request)
    {
        var bytes = new byte[RequestSize];
        var writer = new WireWriter(bytes);
        writer.WriteByte((byte)MessageKind.StatusRequest);
        writer.WriteByte(Version);
        writer.Pad(6);
        writer.WriteInt64(request);
        return bytes;
    }

    /// <summary>
    /// Reads a status request. False with <paramref name="problem"/> when it is malformed: one of at least
    /// <see cref="RequestSize"/> bytes still names its <paramref name="request"/> (answered with a refusal); a shorter one
    /// names none (nobody to answer).
    /// </summary>
    public static bool TryReadRequest(ReadOnlySpan<byte> message, out long request, out string? problem)
    {
        problem = null;
        request = -1;
        if (message.Length < RequestSize)
        {
            problem = $"status request of {message.Length} bytes is shorter than the {RequestSize} of its layout";
            return false;
        }
        var reader = new WireReader(message);
        reader.Skip(1);
        var version = reader.ReadByte();
        reader.Skip(6);
        request = reader.ReadInt64();
        if (version != Version) problem = $"status request version {version} is not the supported version {Version}";
        else if (message.Length != RequestSize) problem = $"status request of {message.Length} bytes has {message.Length - RequestSize} bytes after its {RequestSize}-byte layout";
        return problem is null;
    }

    public static byte[] Refusal(int member, long request, string reason, StatusReplyKind kind = StatusReplyKind.Refused)
    {
        var text = Truncate(reason);
        var bytes = new byte[ReplyHeaderSize + Encoding.UTF8.GetByteCount(text)];
        WriteHeader(bytes, kind, member, request);
        Encoding.UTF8.GetBytes(text, bytes.AsSpan(ReplyHeaderSize));
        return bytes;
    }

    public static byte[] Reply(long request, StatusAnswer answer)
    {
        var reason = answer.Reason is null ? null : Truncate(answer.Reason);
        var size = ReplyHeaderSize + FixedBodySize + 4 * answer.Members.Length + 4 + (reason is null ? 0 : Encoding.UTF8.GetByteCount(reason)) + 4;
        var types = new string[answer.Shards.Length];
        for (var i = 0; i < answer.Shards.Length; i++)
        {
            types[i] = Truncate(answer.Shards[i].Type);
            size += ShardFixedSize + Encoding.UTF8.GetByteCount(types[i]);
        }
        var bytes = new byte[size];
        WriteHeader(bytes, StatusReplyKind.Ok, answer.Member, request);
        var writer = new WireWriter(bytes.AsSpan(ReplyHeaderSize));
        writer.WriteByte(answer.State);
        writer.Pad(3);
        writer.WriteInt32(answer.Members.Length);
        writer.WriteInt64(answer.ViewId);
        writer.WriteInt64(answer.Ticks);
        foreach (var member in answer.Members) writer.WriteInt32(member);
        WriteText(ref writer, reason);
        writer.WriteInt32(answer.Shards.Length);
        for (var i = 0; i < answer.Shards.Length; i++)
        {
            var shard = answer.Shards[i];
            writer.WriteUInt32(shard.TypeId);
            WriteText(ref writer, types[i]);
            writer.WriteInt32(shard.Shard);
            writer.WriteInt32(shard.Replicas);
            writer.WriteInt32(shard.MaxReplicas);
            writer.WriteByte(shard.Persistent ? (byte)1 : (byte)0);
            writer.Pad(3);
            writer.WriteInt64(shard.Delivered);
            writer.WriteInt64(shard.Logged);
            writer.WriteInt64(shard.Persisted);
            writer.WriteInt64(shard.GloballyPersisted);
        }
        return bytes;
    }

    /// <summary>Reads a reply's header: whether it carries a status, who answered, to which request.</summary>
    public static bool TryReadReplyHeader(ReadOnlySpan<byte> message, out StatusReplyKind kind, out int member, out long request)
    {
        var reader = new WireReader(message);
        reader.Skip(1);
        kind = (StatusReplyKind)reader.ReadByte();
        reader.Skip(2);
        member = reader.ReadInt32();
        request = reader.ReadInt64();
        return reader.Ok && kind is StatusReplyKind.Ok or StatusReplyKind.Refused or StatusReplyKind.Unauthorized;
    }

    /// <summary>The reason of a refusal (invalid UTF-8 is replaced, never thrown).</summary>
    public static string ReadRefusal(ReadOnlySpan<byte> message) =>
        message.Length <= ReplyHeaderSize ? "(no reason given)" : Encoding.UTF8.GetString(message[ReplyHeaderSize..]);

    /// <summary>Reads the status of an <see cref="StatusReplyKind.Ok"/> reply; false if it is cut short, has bytes left over, or counts or texts out of range.</summary>
    public static bool TryReadAnswer(ReadOnlySpan<byte> message, int member, out StatusAnswer? answer)
    {
        answer = null;
        if (message.Length < ReplyHeaderSize) return false;
        var reader = new WireReader(message[ReplyHeaderSize..]);
        var state = reader.ReadByte();
        reader.Skip(3);
        var memberCount = reader.ReadInt32();
        var viewId = reader.ReadInt64();
        var ticks = reader.ReadInt64();
        if (memberCount < 0 || memberCount > reader.Remaining / 4) return false;
        var members = new int[memberCount];
        for (var i = 0; i < memberCount; i++) members[i] = reader.ReadInt32();
        if (!TryReadText(ref reader, out var reason)) return false;
        var shardCount = reader.ReadInt32();
        if (shardCount < 0 || shardCount > reader.Remaining / ShardFixedSize) return false;
        var shards = new StatusShard[shardCount];
        for (var i = 0; i < shardCount; i++)
        {
            var typeId = reader.ReadUInt32();
            if (!TryReadText(ref reader, out var type) || type is null) return false;
            var shard = reader.ReadInt32();
            var replicas = reader.ReadInt32();
            var max = reader.ReadInt32();
            var persistent = reader.ReadByte();
            reader.Skip(3);
            shards[i] = new StatusShard(typeId, type, shard, replicas, max, persistent == 1, reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt64());
            if (persistent > 1) return false;
        }
        if (!reader.AtEnd || ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks) return false;
        answer = new StatusAnswer(member, state, viewId, members, shards, reason, ticks);
        return true;
    }

    private static void WriteHeader(Span<byte> into, StatusReplyKind kind, int member, long request)
    {
        var writer = new WireWriter(into);
        writer.WriteByte((byte)MessageKind.StatusReply);
        writer.WriteByte((byte)kind);
        writer.Pad(2);
        writer.WriteInt32(member);
        writer.WriteInt64(request);
    }

    /// <summary>A text as <c>[length i32][utf-8]</c>; null is length -1.</summary>
    private static void WriteText(ref WireWriter writer, string? text)
    {
        if (text is null)
        {
            writer.WriteInt32(-1);
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        writer.WriteInt32(bytes.Length);
        writer.WriteBytes(bytes);
    }

    private static bool TryReadText(ref WireReader reader, out string? text)
    {
        text = null;
        var length = reader.ReadInt32();
        if (!reader.Ok || length < -1 || length > MaxTextBytes) return false;
        if (length == -1) return true;
        var bytes = reader.ReadBytes(length);
        if (!reader.Ok) return false;
        try { text = StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { return false; }
        return true;
    }

    /// <summary>A text cut to at most <see cref="MaxTextBytes"/> UTF-8 bytes (whole characters).</summary>
    private static string Truncate(string text)
    {
        if (Encoding.UTF8.GetByteCount(text) <= MaxTextBytes) return text;
        var length = Math.Min(text.Length, MaxTextBytes / 3);
        while (length < text.Length && Encoding.UTF8.GetByteCount(text.AsSpan(0, length + 1)) <= MaxTextBytes) length++;
        if (length > 0 && char.IsHighSurrogate(text[length - 1])) length--;
        return text[..length];
    }
}
