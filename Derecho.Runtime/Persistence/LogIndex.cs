namespace Derecho.Persistence;

/// <summary>
/// Version and time of every record, in append order, with lock-free readers: the single writer fills a
/// slot, publishes grown arrays before the count, and bumps the count last, so a reader that reads the
/// count first and the arrays second always sees complete entries.
/// </summary>
internal sealed class LogIndex
{
    private Entry[] _entries = new Entry[1024];
    private int _count;
    private int _first;

    public readonly record struct Entry(long Version, long Ticks, int Segment, long Offset, int Length);

    public int Count => Volatile.Read(ref _count);

    /// <summary>Index of the oldest entry not trimmed.</summary>
    public int First => Volatile.Read(ref _first);

    public Entry this[int index] => Volatile.Read(ref _entries)[index];

    public void Add(in Entry entry)
    {
        var count = _count;
        if (count > 0 && entry.Version <= _entries[count - 1].Version)
            throw new ArgumentException($"version {entry.Version} does not follow {_entries[count - 1].Version}", nameof(entry));
        if (count == _entries.Length)
        {
            var grown = new Entry[count * 2];
            Array.Copy(_entries, grown, count);
            Volatile.Write(ref _entries, grown);
        }
        _entries[count] = entry;
        Volatile.Write(ref _count, count + 1);
    }

    /// <summary>Forgets entries from <paramref name="index"/> on (recovery only, before any reader).</summary>
    public void Truncate(int index) => Volatile.Write(ref _count, Math.Min(_count, index));

    public void TrimBefore(int index) => Volatile.Write(ref _first, Math.Max(_first, Math.Min(index, _count)));

    /// <summary>Index of the latest entry with version at or before <paramref name="version"/>, or -1.</summary>
    public int AtOrBeforeVersion(long version) => Search(version, byTime: false);

    /// <summary>Index of the latest entry with a timestamp at or before <paramref name="ticks"/>, or -1.</summary>
    public int AtOrBeforeTime(long ticks) => Search(ticks, byTime: true);

    private int Search(long key, bool byTime)
    {
        var count = Count;
        var entries = Volatile.Read(ref _entries);
        int low = First, high = count - 1, found = -1;
        while (low <= high)
        {
            var mid = (low + high) >>> 1;
            var value = byTime ? entries[mid].Ticks : entries[mid].Version;
            if (value <= key) { found = mid; low = mid + 1; }
            else high = mid - 1;
        }
        return found;
    }
}
