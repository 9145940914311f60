using System.Numerics;
using Derecho.Rpc;

namespace Derecho.Persistence;

/// <summary>One version of a versioned field.</summary>
public readonly record struct VersionedValue<T>(long Version, DateTime Timestamp, T Value);

/// <summary>
/// A field of a replicated object that keeps every version. Updates happen in <c>[Ordered]</c> handlers:
/// each creates a version numbered from the call's place in the total order and stamped with its agreed
/// time, so every replica assigns the same version and time to the same update. Reads (current, by
/// version, by time, ranges) take no lock: the delivery thread fills a slot and publishes it with one
/// volatile count, and published slots are never rewritten. What a handler writes is published when it
/// returns; if it throws, its versions are dropped unpublished (the call changed nothing).
/// </summary>
/// <remarks>
/// Slots are numbered by ordinal (the n-th version ever held), and a <see cref="Store"/> holds a window of them.
/// Trimming moves the first ordinal; once half a store is trimmed, the rest moves to a new store, so trimmed
/// values are freed. A store is never changed once replaced: a reader that still holds it reads valid
/// (if trimmed) slots. Readers read the count, the first ordinal, then the store (writers publish in the
/// other order), and read again if a store replaced meanwhile no longer holds their latest slot.
/// </remarks>
public abstract class Versioned<T> : IVersionedField
{
    private const int InitialSlots = 64;

    private Store _store = new(new VersionedValue<T>[InitialSlots], 0);
    private long _count; // ordinal after the latest published version
    private long _first; // ordinal of the oldest held version
    // While a handler writes the field: the slots it filled end at _staged (past _count, unpublished), seen only
    // by the delivery thread (_stagingThread; 0 while nothing is staged).
    private long _staged;
    private int _stagingThread;
    private readonly T _initial;
    // Reads at a time before this, with no version held at or before it, cannot be answered: versions were trimmed,
    // or the history before a transferred state never reached this replica. long.MinValue: the whole history is here.
    private long _historyFromTicks = long.MinValue;

    private protected Versioned(string name, T initial)
    {
        Name = name;
        _initial = initial;
    }

    /// <summary>The field's name (unique within its replicated type).</summary>
    public string Name { get; }

    /// <summary>Slots [offset, offset + length) by ordinal; replaced, never changed, when it grows or sheds trimmed slots.</summary>
    private sealed class Store(VersionedValue<T>[] slots, long offset)
    {
        public readonly VersionedValue<T>[] Slots = slots;
        public readonly long Offset = offset;
    }

    /// <summary>The held versions as one reader sees them: ordinals [First, Count) in Store.</summary>
    private readonly struct Held(Store store, long first, long count)
    {
        public readonly long First = first;
        public readonly long Count = count;

        public ref readonly VersionedValue<T> this[long ordinal] => ref store.Slots[ordinal - store.Offset];

        /// <summary>Whether the latest version (trimmed or not) is still readable: false before any, or when all were dropped.</summary>
        public bool HasLatest => Count > 0 && Count - 1 >= store.Offset;
    }

    /// <summary>What the caller sees: the handler writing the field sees its own writes, everyone else the published ones.</summary>
    private Held Read()
    {
        if (_stagingThread == Environment.CurrentManagedThreadId) return new Held(_store, Math.Max(_first, _store.Offset), _staged);
        while (true)
        {
            var count = Volatile.Read(ref _count);
            var first = Volatile.Read(ref _first);
            var store = Volatile.Read(ref _store);
            // A store that shed slots after we read the count may no longer hold our latest: read again.
            if (count == first || count - 1 >= store.Offset) return new Held(store, Math.Min(count, Math.Max(first, store.Offset)), count);
            Thread.SpinWait(1);
        }
    }

    /// <summary>
    /// The latest value (the initial value before any update). Inside a P2P handler called <c>.AtTime(t)</c>
    /// (see <see cref="TemporalContext"/>), the value at t instead.
    /// </summary>
    public T Current => TemporalContext.ReadTicks != 0 ? AtReadTime().Value : Latest;

    /// <summary>Version of <see cref="Current"/>, or -1 before any update (at t, inside a temporal P2P handler).</summary>
    public long CurrentVersion => TemporalContext.ReadTicks != 0 ? AtReadTime().Version : LatestVersion;

    private protected long LatestVersion
    {
        get
        {
            var held = Read();
            return held.HasLatest ? held[held.Count - 1].Version : -1;
        }
    }

    /// <summary>The version a temporal read sees: the latest stamped at or before the read time, or the initial value before any.</summary>
    private VersionedValue<T> AtReadTime()
    {
        var ticks = TemporalContext.ReadTicks;
        if (TryFind(ticks, byTime: true, out var value)) return value;
        if (ticks < Volatile.Read(ref _historyFromTicks))
            throw new KeyNotFoundException($"{Name}: this replica does not hold the history before {new DateTime(Volatile.Read(ref _historyFromTicks), DateTimeKind.Utc):O} (trimmed, or before the state it was sent); ask a replica that does");
        return new VersionedValue<T>(-1, default, _initial);
    }

    /// <summary>Versions held (not trimmed).</summary>
    public int VersionCount
    {
        get
        {
            var held = Read();
            return (int)(held.Count - held.First);
        }
    }

    /// <summary>Applies <paramref name="change"/> to the current value as a new version. Only inside an <c>[Ordered]</c> handler.</summary>
    public T Update(Func<T, T> change) => Set(change(Latest));

    private protected T Latest
    {
        get
        {
            var held = Read();
            return held.HasLatest ? held[held.Count - 1].Value : _initial;
        }
    }

    /// <summary>Makes <paramref name="value"/> the new version. Only inside an <c>[Ordered]</c> handler.</summary>
    public T Set(T value)
    {
        var delivery = OrderedContext.Current;
        // Every write of one call is the call's version (a second Set in the same handler is a second slot of
        // that version, which reads and recovery resolve to the last); delivery versions always increase.
        var current = LatestVersion;
        var version = delivery.Version >= current ? delivery.Version : current + 1;
        if (_stagingThread == 0)
        {
            _staged = _count;
            _stagingThread = Environment.CurrentManagedThreadId;
            OnStaging();
            OrderedContext.Staged(this);
        }
        var store = _store;
        if (_staged - store.Offset == store.Slots.Length) store = Reallocate(_staged, _first);
        store.Slots[_staged - store.Offset] = new VersionedValue<T>(version, delivery.Timestamp, value);
        _staged++;
        OnAppended(version, delivery.Timestamp, value);
        return value;
    }

    /// <summary>The handler returned: its versions become readable by everyone; retention then applies.</summary>
    void IVersionedField.PublishStaged()
    {
        if (_stagingThread == 0) return;
        Volatile.Write(ref _count, _staged);
        _stagingThread = 0;
        // Retention: once twice the bound is held, forget all but the newest RetainVersions (amortized).
        if (RetainVersions > 0 && _count - _first >= 2 * RetainVersions)
            TrimBefore(_store.Slots[_count - RetainVersions - _store.Offset].Version);
    }

    /// <summary>The handler threw: its versions are dropped; nobody else ever saw them.</summary>
    void IVersionedField.DiscardStaged()
    {
        if (_stagingThread == 0) return;
        _stagingThread = 0;
        OnDiscarded();
    }

    /// <summary>A handler starts writing the field (its first write of the call).</summary>
    private protected virtual void OnStaging() { }

    /// <summary>The versions the handler wrote were discarded.</summary>
    private protected virtual void OnDiscarded() { }

    /// <summary>Versions kept (at least; up to twice as many between trims); 0 keeps every version.</summary>
    public int RetainVersions { get; internal set; }

    /// <summary>The value of the latest version at or before <paramref name="version"/>.</summary>
    public T ValueAt(long version) => TryGetAt(version, out var value) ? value.Value
        : throw new KeyNotFoundException($"{Name} has no version at or before {version} (oldest held: {OldestVersion})");

    /// <summary>The latest version at or before <paramref name="version"/>, if held.</summary>
    public bool TryGetAt(long version, out VersionedValue<T> value) => TryFind(version, byTime: false, out value);

    /// <summary>The value of the latest version stamped at or before <paramref name="time"/>.</summary>
    public T ValueAtTime(DateTime time) => TryGetAtTime(time, out var value) ? value.Value
        : throw new KeyNotFoundException($"{Name} has no version at or before {time:O}");

    /// <summary>The latest version stamped at or before <paramref name="time"/>, if held.</summary>
    public bool TryGetAtTime(DateTime time, out VersionedValue<T> value) => TryFind(time.ToUniversalTime().Ticks, byTime: true, out value);

    /// <summary>Every held version with <paramref name="from"/> &lt;= version &lt;= <paramref name="to"/>, oldest first.</summary>
    public IReadOnlyList<VersionedValue<T>> Range(long from, long to)
    {
        var held = Read();
        var result = new List<VersionedValue<T>>();
        var start = from == long.MinValue ? held.First : Index(from - 1, false, held) + 1;
        for (var i = Math.Max(held.First, start); i < held.Count && held[i].Version <= to; i++)
            result.Add(held[i]);
        return result;
    }

    /// <summary>Forgets versions older than <paramref name="version"/> (the latest one at or before it stays readable); their memory is freed.</summary>
    public virtual void TrimBefore(long version)
    {
        var held = Read();
        var index = Index(version, false, held);
        if (index <= held.First) return;
        Volatile.Write(ref _historyFromTicks, Math.Max(_historyFromTicks, held[index].Timestamp.Ticks));
        Volatile.Write(ref _first, index);
        // Once half the store is trimmed, the held slots move to a new one and the trimmed values can be collected.
        if (index - _store.Offset >= _store.Slots.Length / 2) Reallocate(held.Count, index);
    }

    /// <summary>Versions before the first one appended from now on are not known here (a state or log tail sent from another replica).</summary>
    private protected void LoseHistoryBefore(long ticks) => Volatile.Write(ref _historyFromTicks, Math.Max(_historyFromTicks, ticks));

    /// <summary>The version held before the latest one (the base a delta of the latest is written against).</summary>
    private protected bool TryGetPrevious(out VersionedValue<T> value)
    {
        var held = Read();
        if (held.Count - held.First < 2) { value = default; return false; }
        value = held[held.Count - 2];
        return true;
    }

    private protected long OldestVersion
    {
        get
        {
            var held = Read();
            return held.Count == held.First ? -1 : held[held.First].Version;
        }
    }

    private protected virtual void OnAppended(long version, DateTime timestamp, T value) { }

    void IVersionedField.WriteLatest(Rpc.PooledBufferWriter writer)
    {
        var held = Read();
        var latest = held.HasLatest ? held[held.Count - 1] : new VersionedValue<T>(-1, default, _initial);
        MemoryPack.MemoryPackSerializer.Serialize(writer, (latest.Version, latest.Timestamp.Ticks, latest.Value));
    }

    void IVersionedField.DropAfter(long version) => DropAfter(version);

    void IVersionedField.ReadLatest(ReadOnlySpan<byte> state)
    {
        var (version, ticks, value) = MemoryPack.MemoryPackSerializer.Deserialize<(long, long, T)>(state);
        if (version < 0 || version <= LatestVersion) return;
        var timestamp = new DateTime(ticks, DateTimeKind.Utc);
        LoseHistoryBefore(ticks);
        Append(new VersionedValue<T>(version, timestamp, value!));
        OnAppended(version, timestamp, value!);
    }

    /// <summary>Adds a version (the delivery thread, or recovery). Versions strictly increase.</summary>
    private protected void Append(in VersionedValue<T> value)
    {
        var count = _count;
        var store = _store;
        if (count - store.Offset == store.Slots.Length) store = Reallocate(count, _first);
        store.Slots[count - store.Offset] = value;
        Volatile.Write(ref _count, count + 1);
    }

    /// <summary>
    /// Moves ordinals [<paramref name="first"/>, <paramref name="end"/>) to a new store with room for as many again, and
    /// publishes it (before the count that needs the room; the old store stays valid for readers that hold it).
    /// </summary>
    private Store Reallocate(long end, long first)
    {
        var old = _store;
        first = Math.Max(first, old.Offset);
        var held = (int)(end - first);
        var store = new Store(new VersionedValue<T>[Math.Max(InitialSlots, (int)BitOperations.RoundUpToPowerOf2((uint)(Math.Max(held, 1) * 2)))], first);
        Array.Copy(old.Slots, first - old.Offset, store.Slots, 0, held);
        Volatile.Write(ref _store, store);
        return store;
    }

    /// <summary>Drops versions after <paramref name="version"/> (restart, before any reader).</summary>
    private protected void DropAfter(long version)
    {
        var keep = Index(version, false, Read()) + 1;
        if (keep == 0)
        {
            // Nothing held at or before it: the field starts over, from ordinal 0.
            Volatile.Write(ref _count, 0);
            Volatile.Write(ref _first, 0);
            if (_store.Offset != 0) Volatile.Write(ref _store, new Store(new VersionedValue<T>[InitialSlots], 0));
        }
        else if (keep < _count) Volatile.Write(ref _count, keep);
        OnDropped(version);
    }

    /// <summary>Versions after <paramref name="version"/> were dropped.</summary>
    private protected virtual void OnDropped(long version) { }

    private bool TryFind(long key, bool byTime, out VersionedValue<T> value)
    {
        var held = Read();
        var index = Index(key, byTime, held);
        if (index < held.First) { value = default; return false; }
        value = held[index];
        return true;
    }

    /// <summary>Ordinal of the latest held version at or before <paramref name="key"/> (version or ticks), or -1.</summary>
    private static long Index(long key, bool byTime, in Held held)
    {
        long low = held.First, high = held.Count - 1, found = -1;
        while (low <= high)
        {
            var mid = (low + high) >>> 1;
            var value = byTime ? held[mid].Timestamp.Ticks : held[mid].Version;
            if (value <= key) { found = mid; low = mid + 1; }
            else high = mid - 1;
        }
        return found;
    }
}

/// <summary>What state transfer needs of a versioned field, whatever its type: its latest version.</summary>
internal interface IVersionedField
{
    string Name { get; }

    void WriteLatest(Rpc.PooledBufferWriter writer);

    void ReadLatest(ReadOnlySpan<byte> state);

    /// <summary>Forgets versions after <paramref name="version"/> (restart, or a stale history replaced by another replica's).</summary>
    void DropAfter(long version);

    /// <summary>The ordered handler that wrote the field returned: what it wrote becomes readable by everyone.</summary>
    void PublishStaged();

    /// <summary>The ordered handler that wrote the field threw: what it wrote is dropped.</summary>
    void DiscardStaged();
}

/// <summary>A versioned field kept in memory only.</summary>
public sealed class Volatile<T> : Versioned<T>
{
    internal Volatile(string name, T initial) : base(name, initial) { }
}
