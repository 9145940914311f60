using System.Buffers;

namespace Derecho.Client;

/// <summary>
/// The sequence numbers of a client's session: each relayed ordered call takes the next one; the floor is the lowest
/// call not finished yet (answered, failed or given up), which every call carries so the replicas may forget below it.
/// </summary>
internal sealed class SessionWindow
{
    private readonly object _gate = new();
    private readonly HashSet<long> _finishedAbove = new(); // finished calls above the floor (finished out of order)
    private long _next;
    private long _floor;

    /// <summary>A new call's sequence number and the floor to send with it (never above it).</summary>
    public (long Sequence, long Floor) Begin()
    {
        lock (_gate) return (_next++, _floor);
    }

    public long Floor
    {
        get { lock (_gate) return _floor; }
    }

    /// <summary>The call has its outcome (or the client gave up on it): it will never be sent again.</summary>
    public void Finish(long sequence)
    {
        lock (_gate)
        {
            if (sequence < _floor || sequence >= _next) return;
            if (sequence != _floor)
            {
                _finishedAbove.Add(sequence);
                return;
            }
            _floor++;
            while (_finishedAbove.Remove(_floor)) _floor++;
        }
    }
}

/// <summary>
/// A relayed ordered call of the session that may have to go again through another member: its relay message as sent
/// (pooled; returned when the call finishes), where it goes, and until when the client may re-send it.
/// </summary>
internal sealed class ResendableCall(uint typeId, int shard, long sequence, ReadOnlySpan<byte> relay, long deadline)
{
    private byte[]? _relay = Copy(relay);

    public uint TypeId { get; } = typeId;

    public int Shard { get; } = shard;

    public long Sequence { get; } = sequence;

    public int Length { get; } = relay.Length;

    /// <summary><see cref="Environment.TickCount64"/> after which the call is not re-sent (its caller's timeout).</summary>
    public long Deadline { get; } = deadline;

    /// <summary>Times it was re-sent: each goes to the next member of the shard.</summary>
    public int Resent { get; set; }

    /// <summary>The relay message, while the call is not finished (use under the call's lock); null after.</summary>
    public Span<byte> Relay => _relay is null ? default : _relay.AsSpan(0, Length);

    public bool Finished => _relay is null;

    /// <summary>Returns the pooled message (under the call's lock): nothing sends it after this.</summary>
    public void Finish()
    {
        if (_relay is null) return;
        ArrayPool<byte>.Shared.Return(_relay);
        _relay = null;
    }

    private static byte[] Copy(ReadOnlySpan<byte> relay)
    {
        var copy = ArrayPool<byte>.Shared.Rent(relay.Length);
        relay.CopyTo(copy);
        return copy;
    }
}

/// <summary>When a member was last heard from, and when the client last asked it for a sign of life (ticks of <see cref="Environment.TickCount64"/>).</summary>
internal sealed class Liveness
{
    private long _heard = Environment.TickCount64;
    private long _probed;

    public long Heard
    {
        get => Volatile.Read(ref _heard);
        set => Volatile.Write(ref _heard, value);
    }

    public long Probed
    {
        get => Volatile.Read(ref _probed);
        set => Volatile.Write(ref _probed, value);
    }
}
