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
    private readonly PersistentLog _log;
    private readonly PooledBufferWriter _encoded = new();

    internal Persistent(string name, T initial, string directory, PersistentLogOptions options) : base(name, initial)
    {
        _log = new PersistentLog(directory, options, onRecord: (version, ticks, _, payload) =>
            Append(new VersionedValue<T>(version, new DateTime(ticks, DateTimeKind.Utc), MemoryPackSerializer.Deserialize<T>(payload)!)));
    }

    /// <summary>Highest version on disk.</summary>
    public long PersistedVersion => _log.PersistedVersion;

    /// <summary>Highest version written to the log (durable or not).</summary>
    public long LoggedVersion => _log.LastVersion;

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
        _log.TrimBefore(OldestVersion);
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
        MemoryPackSerializer.Serialize(_encoded, value);
        _log.Append(version, timestamp, _encoded.WrittenSpan);
    }
}

/// <summary>What the runtime needs of every persistent field, whatever its type.</summary>
internal interface IPersistentField : IDisposable
{
    long PersistedVersion { get; }

    long LoggedVersion { get; }

    void TruncateAfter(long version);
}
