using System.IO.Hashing;
using System.Text;
using Derecho.Rpc;
using MemoryPack;

namespace Derecho.FaultTests;

/// <summary>
/// The fault suite's replicated type: a map of string registers. Puts and reads are both ordered calls, so a
/// read is totally ordered with the writes (a P2P <see cref="Get"/> reads one replica as it is now, which is not
/// linearizable: see README). [MemoryPackable] gives state transfer to joiners.
/// </summary>
[Replicated]
[MemoryPackable]
public sealed partial class FaultRegister
{
    [MemoryPackInclude] private Dictionary<string, string> _values = new(StringComparer.Ordinal);
    // Mutation check only: the value each key had before its latest put.
    [MemoryPackInclude] private Dictionary<string, string> _previous = new(StringComparer.Ordinal);

    /// <summary>
    /// The deliberate bug of the mutation check, set per member process by FAULTS_MUTATION=stale-read: the ordered
    /// read answers the value before the latest put of the key, as a runtime that delivered a read ahead of the
    /// write ordered before it would. Same at every replica, so replicas still agree and digests still match.
    /// </summary>
    [MemoryPackIgnore]
    public bool StaleReads { get; init; }

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>; returns the number of keys.</summary>
    [Ordered]
    public int Put(string key, string value)
    {
        if (_values.TryGetValue(key, out var old)) _previous[key] = old;
        else _previous.Remove(key);
        _values[key] = value;
        return _values.Count;
    }

    /// <summary>The value of <paramref name="key"/> at this point of the total order, or null.</summary>
    [Ordered]
    public string? Read(string key)
    {
        if (StaleReads) return _previous.TryGetValue(key, out var stale) ? stale : null;
        return _values.TryGetValue(key, out var value) ? value : null;
    }

    /// <summary>The value of <paramref name="key"/> at this replica now (P2P), or null.</summary>
    [P2PCallable]
    public string? Get(string key) => _values.TryGetValue(key, out var value) ? value : null;

    /// <summary>A hash of every key and value in key order: equal at replicas that agree.</summary>
    [P2PCallable]
    public string Digest()
    {
        var hash = new XxHash64();
        foreach (var key in _values.Keys.Order(StringComparer.Ordinal))
        {
            hash.Append(Encoding.UTF8.GetBytes(key));
            hash.Append(Encoding.UTF8.GetBytes(_values[key]));
        }
        return $"{hash.GetCurrentHashAsUInt64():X16}/{_values.Count}";
    }
}
