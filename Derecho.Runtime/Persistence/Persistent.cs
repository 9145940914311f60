using MemoryPack;

namespace Derecho.Persistence;

/// <summary>
/// A versioned field whose versions also go to its replica's durable log (MemoryPack-encoded, CRC-checked,
/// fsynced in groups by a background thread). Every persistent field of a replica shares that one log, and
/// whatever one ordered call changed is one record, so after a crash the fields come back at the same
/// delivery. Reopening the replica replays the log while its constructor creates the field (before
/// <c>context.Persistent</c> returns), so the constructor sees the field with every version; records that reach
/// the log from another member later make the runtime construct the replica again. <see cref="PersistedVersion"/>
/// says what is on disk.
/// </summary>
public sealed class Persistent<T> : Versioned<T>, ReplicaLog.ILoggedField
{
    private const uint DeltaFlag = 1;

    private readonly ReplicaLog _log;
    private readonly uint _key;
    private readonly IDeltaCodec<T>? _deltas;
    private readonly int _checkpointEvery;
    private int _sinceCheckpoint;
    // Versions logged in full: the log is never trimmed past the last one a kept delta builds on.
    private readonly List<long> _checkpoints = new();

    internal Persistent(string name, T initial, ReplicaLog log, IDeltaCodec<T>? deltas = null, int checkpointEvery = 64)
        : base(name, initial)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(checkpointEvery, 1);
        _deltas = deltas;
        _checkpointEvery = checkpointEvery;
        _log = log;
        _key = log.Register(this);
    }

    void ReplicaLog.ILoggedField.Replay(long version, long ticks, uint flags, ReadOnlySpan<byte> payload)
    {
        if (version < LatestVersion) return; // equal: a second write of the same call, which wins
        T value;
        if ((flags & DeltaFlag) != 0)
        {
            if (_deltas is null) throw new InvalidDataException($"{Name}: the log holds deltas but the field was opened without a delta codec");
            if (_checkpoints.Count == 0) // a trimmed log's first deltas: their full value is gone, the next checkpoint starts the history
            {
                LoseHistoryBefore(ticks + 1);
                return;
            }
            value = _deltas.ApplyDelta(Latest, payload);
            _sinceCheckpoint++;
        }
        else
        {
            value = MemoryPackSerializer.Deserialize<T>(payload)!;
            _sinceCheckpoint = 0;
            _checkpoints.Add(version);
        }
        // The first version replayed from a log whose first segments were trimmed is not the field's first: nothing before it is known.
        if (VersionCount == 0 && !_log.OpenedFromStart) LoseHistoryBefore(ticks);
        Append(new VersionedValue<T>(version, new DateTime(ticks, DateTimeKind.Utc), value));
    }

    /// <summary>The oldest record this field needs: the last full value at or before the oldest version it holds.</summary>
    long ReplicaLog.ILoggedField.NeededFrom
    {
        get
        {
            if (VersionCount == 0) return long.MaxValue;
            var oldest = OldestVersion;
            var checkpoint = _checkpoints.FindLastIndex(v => v <= oldest);
            return checkpoint < 0 ? oldest : _checkpoints[checkpoint];
        }
    }

    /// <summary>Highest version of this field's replica on disk (the replica's fields share one log).</summary>
    public long PersistedVersion => _log.PersistedVersion;

    /// <summary>Highest version written to the replica's log (durable or not).</summary>
    public long LoggedVersion => _log.LastVersion;

    /// <summary>Raised (on the log's flusher thread) when a version of the replica becomes durable here.</summary>
    public event Action<long>? Persisted
    {
        add => _log.Persisted += value;
        remove => _log.Persisted -= value;
    }

    /// <inheritdoc />
    public override void TrimBefore(long version)
    {
        base.TrimBefore(version);
        // Recovery replays deltas from the full value before them: the log keeps records from that checkpoint on.
        var oldest = OldestVersion;
        var checkpoint = _checkpoints.FindLastIndex(v => v <= oldest);
        if (checkpoint > 0) _checkpoints.RemoveRange(0, checkpoint);
        _log.TrimUnneeded();
    }

    /// <summary>Waits until every version so far is on disk.</summary>
    public void Flush() => _log.Flush();

    // What a failed handler's writes must not leave behind: the checkpoints before them and the count since the last.
    private int _checkpointsBeforeStaging;
    private int _sinceCheckpointBeforeStaging;

    private protected override void OnStaging()
    {
        _checkpointsBeforeStaging = _checkpoints.Count;
        _sinceCheckpointBeforeStaging = _sinceCheckpoint;
    }

    // The log's staged record is discarded with them, by the delivery (ReplicaLog.DiscardStaged).
    private protected override void OnDiscarded()
    {
        _checkpoints.RemoveRange(_checkpointsBeforeStaging, _checkpoints.Count - _checkpointsBeforeStaging);
        _sinceCheckpoint = _sinceCheckpointBeforeStaging;
    }

    private protected override void OnDropped(long version)
    {
        _checkpoints.RemoveAll(v => v > version);
        _sinceCheckpoint = _checkpointEvery; // the next version is logged in full
    }

    private protected override void OnAppended(long version, DateTime timestamp, T value)
    {
        try
        {
            if (_deltas is not null && _sinceCheckpoint + 1 < _checkpointEvery && TryGetPrevious(out var previous))
            {
                _deltas.WriteDelta(previous.Value, value, _log.BeginEntry(_key, DeltaFlag, version, timestamp));
                _log.EndEntry();
                _sinceCheckpoint++;
                return;
            }
            MemoryPackSerializer.Serialize(_log.BeginEntry(_key, 0, version, timestamp), value);
            _log.EndEntry();
        }
        catch
        {
            _log.AbandonEntry(); // a half-written entry must never reach the record
            throw;
        }
        _sinceCheckpoint = 0;
        _checkpoints.Add(version);
    }
}
