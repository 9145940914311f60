using System.IO.Hashing;
using System.Text;
using Derecho.Persistence;
using Derecho.Rpc;
using MemoryPack;

namespace Derecho.Samples.KvStore;

/// <summary>One write to the store: a put (value) or a delete (null value).</summary>
[MemoryPackable]
public sealed partial record KvWrite(string Key, byte[]? Value);

/// <summary>A key's value as of one version (state transfer).</summary>
[MemoryPackable]
public sealed partial record KvVersion(long Version, string Key, byte[]? Value);

/// <summary>
/// One shard of a replicated key/value store. Every Put/Delete is an ordered call: a new version of the
/// persistent write log (durable, recovered after a restart), applied in the same order at every replica
/// of the shard. Get is a P2P read of one replica; GetAt reads a key as of any earlier version.
/// </summary>
[Replicated]
public sealed partial class KvStore : IReplicaState
{
    private readonly Persistent<KvWrite?> _writes;
    // Key → (version, value or null for a delete), ascending: answers Get and GetAt without touching the log.
    private readonly Dictionary<string, List<(long Version, byte[]? Value)>> _index = new(StringComparer.Ordinal);

    public KvStore(IReplicaContext context)
    {
        _writes = context.Persistent<KvWrite?>("writes");
        foreach (var write in _writes.Range(long.MinValue, long.MaxValue)) Index(write.Version, write.Value);
    }

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>; returns the version it created.</summary>
    [Ordered]
    public long Put(string key, byte[] value)
    {
        _writes.Set(new KvWrite(key, value));
        Index(_writes.CurrentVersion, _writes.Current);
        return _writes.CurrentVersion;
    }

    /// <summary>Removes <paramref name="key"/>; returns whether it was there.</summary>
    [Ordered]
    public bool Delete(string key)
    {
        var existed = Lookup(key, long.MaxValue) is not null;
        _writes.Set(new KvWrite(key, null));
        Index(_writes.CurrentVersion, _writes.Current);
        return existed;
    }

    /// <summary>The current value of <paramref name="key"/>, or null.</summary>
    [P2PCallable]
    public byte[]? Get(string key) => Lookup(key, long.MaxValue);

    /// <summary>The value <paramref name="key"/> had at <paramref name="version"/>, or null.</summary>
    [P2PCallable]
    public byte[]? GetAt(string key, long version) => Lookup(key, version);

    /// <summary>Number of keys with a value.</summary>
    [P2PCallable]
    public int Count() => _index.Keys.Count(k => Lookup(k, long.MaxValue) is not null);

    /// <summary>A hash of every key and value, in key order: equal at replicas that agree.</summary>
    [P2PCallable]
    public ulong Digest()
    {
        var hash = new XxHash64();
        foreach (var key in _index.Keys.Order(StringComparer.Ordinal))
        {
            if (Lookup(key, long.MaxValue) is not { } value) continue;
            hash.Append(Encoding.UTF8.GetBytes(key));
            hash.Append(value);
        }
        return hash.GetCurrentHashAsUInt64();
    }

    private void Index(long version, KvWrite? write)
    {
        if (write is null) return;
        if (!_index.TryGetValue(write.Key, out var versions)) _index[write.Key] = versions = new List<(long, byte[]?)>(1);
        versions.Add((version, write.Value));
    }

    private byte[]? Lookup(string key, long atOrBefore)
    {
        if (!_index.TryGetValue(key, out var versions)) return null;
        for (var i = versions.Count - 1; i >= 0; i--)
            if (versions[i].Version <= atOrBefore) return versions[i].Value;
        return null;
    }

    // State transfer to a member new to the shard: every write of every key, so it answers GetAt too.
    void IReplicaState.WriteState(System.Buffers.IBufferWriter<byte> writer) =>
        MemoryPackSerializer.Serialize(writer, _index.OrderBy(e => e.Key, StringComparer.Ordinal)
            .SelectMany(e => e.Value.Select(v => new KvVersion(v.Version, e.Key, v.Value))).ToArray());

    void IReplicaState.ReadState(ReadOnlySpan<byte> state)
    {
        _index.Clear();
        foreach (var entry in MemoryPackSerializer.Deserialize<KvVersion[]>(state) ?? [])
            Index(entry.Version, new KvWrite(entry.Key, entry.Value));
    }
}
