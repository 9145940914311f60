using Derecho.Persistence;
using Derecho.Rpc;
using MemoryPack;

namespace Derecho;

/// <summary>
/// A versioned field whose versions are also appended to a durable log (MemoryPack-encoded, CRC-checked,
/// fsynced in groups by a background thread). Reopening the replica replays the log, so the field comes
/// back with every version after a restart. <see cref="PersistedVersion"/> says what is on disk.
/// </summary>
public sealed class Persistent<T> : Versioned<T>, IPersistentField
{
    private const uint DeltaFlag = 1;

    private readonly PersistentLog _log;
    private readonly PooledBufferWriter _encoded = new();
    private readonly IDeltaCodec<T>? _deltas;
    private readonly int _checkpointEvery;
    private int _sinceCheckpoint;
    // Versions logged in full: the log is never trimmed past the last one a kept delta builds on.
    private readonly List<long> _checkpoints = new();

    internal Persistent(string name, T initial, string directory, PersistentLogOptions options, IDeltaCodec<T>? deltas = null, int checkpointEvery = 64)
        : base(name, initial)
    {
        if (checkpointEvery < 1) throw new ArgumentOutOfRangeException(nameof(checkpointEvery));
        _deltas = deltas;
        _checkpointEvery = checkpointEvery;
        _log = new PersistentLog(directory, options, onRecord: Recover);
    }

    private void Recover(long version, long ticks, uint flags, ReadOnlySpan<byte> payload)
    {
        T value;
        if ((flags & DeltaFlag) != 0)
        {
            if (_deltas is null) throw new InvalidDataException($"{Name}: the log holds deltas but the field was opened without a delta codec");
            value = _deltas.ApplyDelta(Current, payload);
            _sinceCheckpoint++;
        }
        else
        {
            value = MemoryPackSerializer.Deserialize<T>(payload)!;
            _sinceCheckpoint = 0;
            _checkpoints.Add(version);
        }
        Append(new VersionedValue<T>(version, new DateTime(ticks, DateTimeKind.Utc), value));
    }

    /// <summary>Highest version on disk.</summary>
    public long PersistedVersion => _log.PersistedVersion;

    /// <summary>Highest version written to the log (durable or not).</summary>
    public long LoggedVersion => _log.LastVersion;

    event Action? IPersistentField.Durable
    {
        add => _log.Durable += value;
        remove => _log.Durable -= value;
    }

    /// <summary>Raised (on the log's flusher thread) when a version becomes durable here.</summary>
    public event Action<long>? Persisted
    {
        add => _log.Persisted += value;
        remove => _log.Persisted -= value;
    }

    /// <inheritdoc />
    public override void TrimBefore(long version)
    {
        base.TrimBefore(version);
        // Recovery replays deltas from the full value before them: keep the log from that checkpoint on.
        var bound = OldestVersion;
        var checkpoint = _checkpoints.FindLastIndex(v => v <= bound);
        if (checkpoint < 0) return;
        _log.TrimBefore(_checkpoints[checkpoint]);
        _checkpoints.RemoveRange(0, checkpoint);
    }

    /// <summary>Waits until every version so far is on disk.</summary>
    public void Flush() => _log.Flush();

    void IPersistentField.TruncateAfter(long version)
    {
        _log.TruncateAfter(version);
        DropAfter(version);
    }

    void IDisposable.Dispose() => _log.Dispose();

    private protected override void OnAppended(long version, DateTime timestamp, T value)
    {
        _encoded.Reset();
        if (_deltas is not null && _sinceCheckpoint + 1 < _checkpointEvery && VersionCount >= 2 && TryGetAt(version - 1, out var previous))
        {
            _deltas.WriteDelta(previous.Value, value, _encoded);
            _log.Append(version, timestamp, _encoded.WrittenSpan, DeltaFlag);
            _sinceCheckpoint++;
            return;
        }
        MemoryPackSerializer.Serialize(_encoded, value);
        _log.Append(version, timestamp, _encoded.WrittenSpan);
        _sinceCheckpoint = 0;
        _checkpoints.Add(version);
    }
}

/// <summary>What the runtime needs of every persistent field, whatever its type.</summary>
internal interface IPersistentField : IDisposable
{
    long PersistedVersion { get; }

    long LoggedVersion { get; }

    /// <summary>Raised on the flusher thread after <see cref="PersistedVersion"/> moved.</summary>
    event Action? Durable;

    void TruncateAfter(long version);
}
