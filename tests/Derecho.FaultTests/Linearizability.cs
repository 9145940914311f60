using System.Diagnostics;
using System.Text;

namespace Derecho.FaultTests;

/// <summary>The checker's verdict on one key's sub-history.</summary>
public sealed record KeyVerdict(string Key, int Operations, bool Linearizable, bool TimedOut, IReadOnlyList<Op> Window, string Explanation);

/// <summary>The checker's verdict on a whole history.</summary>
public sealed record Verdict(IReadOnlyList<KeyVerdict> Keys, TimeSpan Elapsed)
{
    public bool Linearizable => Keys.All(k => k.Linearizable);

    public IEnumerable<KeyVerdict> Anomalies => Keys.Where(k => !k.Linearizable && !k.TimedOut);

    public IEnumerable<KeyVerdict> Undecided => Keys.Where(k => k.TimedOut);

    public string Report(long origin = 0)
    {
        var text = new StringBuilder();
        text.AppendLine($"{Keys.Count} keys, {Keys.Sum(k => k.Operations)} operations checked in {Elapsed.TotalMilliseconds:0} ms: " +
                        (Linearizable ? "linearizable" : $"{Anomalies.Count()} keys NOT linearizable, {Undecided.Count()} undecided"));
        foreach (var key in Keys.Where(k => !k.Linearizable))
        {
            text.AppendLine($"key {key.Key}: {key.Explanation}");
            text.AppendLine($"  minimal window ({key.Window.Count} operations, times in ms):");
            var start = origin != 0 ? origin : key.Window.Count > 0 ? key.Window.Min(o => o.Invoke) : 0;
            foreach (var op in key.Window.OrderBy(o => o.Invoke))
                text.AppendLine($"    [{HistoryFile.Millis(op.Invoke, start),12:0.000###} .. {(op.Outcome == Outcome.Unknown ? "never" : HistoryFile.Millis(op.Complete, start).ToString("0.000###")),12}] {op}{(op.Error is null ? "" : $" ({op.Error})")}");
        }
        return text.ToString();
    }
}

/// <summary>
/// Linearizability of per-key registers (put(k, v); read(k) → v or null), checked key by key (P-compositionality:
/// a history of independent objects is linearizable iff each object's sub-history is). Each key is searched
/// with Wing &amp; Gong's algorithm as improved by Lowe ("just-in-time linearization", with a cache of
/// (set of linearized operations, register value) already explored), the algorithm of Porcupine and Knossos'
/// linear checker. Failed operations are dropped (they did not happen); unknown puts never complete, so they
/// may be linearized anywhere after their invocation, or after everything (i.e. not at all); unknown reads are
/// dropped (they constrain nothing).
/// </summary>
public static class Linearizability
{
    public static Verdict Check(IEnumerable<Op> history, long maxSteps = 20_000_000)
    {
        var clock = Stopwatch.StartNew();
        var keys = history.Where(o => o.Outcome != Outcome.Fail && !(o.Outcome == Outcome.Unknown && !o.IsPut))
            .GroupBy(o => o.Key, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => CheckKey(g.Key, g.ToList(), maxSteps))
            .ToList();
        return new Verdict(keys, clock.Elapsed);
    }

    private static KeyVerdict CheckKey(string key, List<Op> ops, long maxSteps)
    {
        // Cheap, common anomaly first: a read of a value nobody put.
        var written = ops.Where(o => o.IsPut).Select(o => o.Value).ToHashSet(StringComparer.Ordinal);
        var phantom = ops.FirstOrDefault(o => !o.IsPut && o.Value is not null && !written.Contains(o.Value));
        if (phantom is not null)
            return new KeyVerdict(key, ops.Count, false, false, [phantom], $"read of a value never written: {phantom}");

        ops = BoundUnknownPuts(ops);
        var result = Search(ops, maxSteps);
        if (result.Linearizable) return new KeyVerdict(key, ops.Count, true, false, [], "linearizable");
        if (result.TimedOut) return new KeyVerdict(key, ops.Count, false, true, [], $"undecided: search passed {maxSteps} steps");
        var window = Shrink(ops, result, maxSteps);
        var blocked = result.Blocking!;
        return new KeyVerdict(key, ops.Count, false, false, window,
            $"no linearization: at best {result.Depth} of {ops.Count} operations linearize, with the register at {(result.StateAtBest is null ? "null" : $"\"{result.StateAtBest}\"")}, " +
            $"and then {blocked} cannot take effect before it returns");
    }

    /// <summary>
    /// An unknown put never completes, so the search may linearize it anywhere after its invocation: with many of
    /// them the search space doubles per unknown put, which a violation (a search that must exhaust it) makes
    /// hopeless. With unique values (each value put at most once) they are bounded without changing the verdict: an
    /// unknown put whose value nobody read is dropped (linearizing it after everything else is always possible),
    /// and one whose value was read must take effect before the first of those reads completed, so that is its
    /// completion.
    /// </summary>
    private static List<Op> BoundUnknownPuts(List<Op> ops)
    {
        var puts = ops.Where(o => o.IsPut && o.Value is not null).GroupBy(o => o.Value!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var firstRead = ops.Where(o => !o.IsPut && o.Value is not null).GroupBy(o => o.Value!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Min(o => o.Complete), StringComparer.Ordinal);
        var bounded = new List<Op>(ops.Count);
        foreach (var op in ops)
        {
            if (op.Outcome != Outcome.Unknown || !op.IsPut || op.Value is null || puts[op.Value] != 1) bounded.Add(op);
            else if (firstRead.TryGetValue(op.Value, out var complete)) bounded.Add(op with { Outcome = Outcome.Ok, Complete = Math.Max(complete, op.Invoke), Error = "unknown; bounded by the first read of its value" });
        }
        return bounded;
    }

    /// <summary>
    /// A small sub-history that still fails: drop operations whose absence cannot make a linearizable history
    /// non-linearizable (a read; a put whose value no remaining read returns) while the rest still fails.
    /// </summary>
    private static List<Op> Shrink(List<Op> ops, SearchResult failed, long maxSteps)
    {
        // First a window of time: the operations invoked from some point up to the blocking operation's return,
        // plus the puts of the values those reads returned (a subset that leaves out only droppable operations).
        // The point moves back exponentially until the window alone fails.
        var cut = failed.Blocking!.Complete;
        var byInvoke = ops.Where(o => o.Invoke <= cut).OrderBy(o => o.Invoke).ToList();
        var current = ops;
        for (var back = 8; ; back *= 2)
        {
            var from = Math.Max(0, byInvoke.Count - back);
            var window = byInvoke.Skip(from).ToHashSet();
            var needed = window.Where(o => !o.IsPut && o.Value is not null).Select(o => o.Value!).ToHashSet(StringComparer.Ordinal);
            window.UnionWith(ops.Where(o => o.IsPut && o.Value is not null && needed.Contains(o.Value)));
            var candidate = ops.Where(window.Contains).ToList();
            if (Droppable(ops, ops.Where(o => !window.Contains(o)).ToList()) && Fails(candidate))
            {
                current = candidate;
                break;
            }
            if (from == 0) break;
        }
        if (current.Count > 600) return current;
        // Then one operation at a time.
        for (var i = current.Count - 1; i >= 0; i--)
        {
            if (!Droppable(current, [current[i]])) continue;
            var without = current.Where((_, j) => j != i).ToList();
            if (Fails(without)) current = without;
        }
        return current;

        bool Fails(List<Op> subset)
        {
            var r = Search(subset, maxSteps);
            return !r.Linearizable && !r.TimedOut;
        }
    }

    private static bool Droppable(List<Op> all, List<Op> drop)
    {
        var dropped = drop.ToHashSet();
        var readValues = all.Where(o => !o.IsPut && !dropped.Contains(o) && o.Value is not null).Select(o => o.Value!).ToHashSet(StringComparer.Ordinal);
        return drop.All(o => !o.IsPut || o.Value is null || !readValues.Contains(o.Value));
    }

    private sealed record SearchResult(bool Linearizable, bool TimedOut, int Depth, Op? Blocking, string? StateAtBest, long BestFrontier);

    private sealed class Entry
    {
        public required bool IsCall;
        public required int Id;
        public required long Time;
        public Entry? Match;
        public Entry? Prev;
        public Entry? Next;
    }

    private static SearchResult Search(List<Op> ops, long maxSteps)
    {
        var n = ops.Count;
        var entries = new List<Entry>(2 * n);
        for (var i = 0; i < n; i++)
        {
            var call = new Entry { IsCall = true, Id = i, Time = ops[i].Invoke };
            var ret = new Entry { IsCall = false, Id = i, Time = ops[i].Outcome == Outcome.Unknown ? long.MaxValue : ops[i].Complete };
            call.Match = ret;
            entries.Add(call);
            entries.Add(ret);
        }
        // By time; at equal times calls first (two operations that touch at one instant count as concurrent).
        entries.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.IsCall == b.IsCall ? a.Id.CompareTo(b.Id) : a.IsCall ? -1 : 1);
        var head = new Entry { IsCall = false, Id = -1, Time = long.MinValue };
        var previous = head;
        foreach (var e in entries)
        {
            previous.Next = e;
            e.Prev = previous;
            previous = e;
        }

        // The cache key: the linearized set as a 128-bit Zobrist hash (XOR of a random key per operation, updated
        // in O(1); storing the sets themselves costs O(n) per step and O(n) memory per entry, hopeless for keys with
        // 10^5 operations), with the register value's hash. A collision (about 2^-64 per pair) could only prune a
        // branch, i.e. report a violation that is not one, never hide one.
        var keys = new (ulong, ulong)[n];
        var seeds = new Random(n);
        for (var i = 0; i < n; i++) keys[i] = ((ulong)seeds.NextInt64() ^ ((ulong)seeds.Next() << 63), (ulong)seeds.NextInt64() ^ ((ulong)seeds.Next() << 62));
        (ulong A, ulong B) linearized = (0, 0);
        string? state = null;
        var cache = new HashSet<(ulong, ulong)>();
        var calls = new Stack<(Entry Call, string? State)>();
        var depth = 0;
        var bestDepth = -1;
        Op? blocking = null;
        string? bestState = null;
        long bestFrontier = 0;
        long steps = 0;
        var entry = head.Next;
        while (head.Next is not null)
        {
            if (++steps > maxSteps) return new SearchResult(false, true, bestDepth, blocking, bestState, bestFrontier);
            if (entry!.IsCall)
            {
                var op = ops[entry.Id];
                var legal = op.IsPut || string.Equals(op.Value, state, StringComparison.Ordinal);
                var next = op.IsPut ? op.Value : state;
                if (legal)
                {
                    var after = (linearized.A ^ keys[entry.Id].Item1, linearized.B ^ keys[entry.Id].Item2);
                    var valueHash = (ulong)(uint)StringComparer.Ordinal.GetHashCode(next ?? "\0null") * 0x9E3779B97F4A7C15UL;
                    if (cache.Add((after.Item1 ^ valueHash, after.Item2 + valueHash)))
                    {
                        calls.Push((entry, state));
                        state = next;
                        linearized = after;
                        depth++;
                        Lift(entry);
                        entry = head.Next;
                        continue;
                    }
                }
                entry = entry.Next;
            }
            else
            {
                // A return reached: its operation could not be linearized before it. Undo the last choice.
                if (depth > bestDepth)
                {
                    bestDepth = depth;
                    blocking = ops[entry.Id];
                    bestState = state;
                    bestFrontier = calls.Count > 0 ? ops[calls.Peek().Call.Id].Invoke : 0;
                }
                if (calls.Count == 0) return new SearchResult(false, false, bestDepth, blocking, bestState, bestFrontier);
                var (call, before) = calls.Pop();
                state = before;
                linearized = (linearized.A ^ keys[call.Id].Item1, linearized.B ^ keys[call.Id].Item2);
                depth--;
                Unlift(call);
                entry = call.Next;
            }
        }
        return new SearchResult(true, false, n, null, null, 0);
    }

    private static void Lift(Entry call)
    {
        call.Prev!.Next = call.Next;
        call.Next!.Prev = call.Prev;
        var ret = call.Match!;
        ret.Prev!.Next = ret.Next;
        if (ret.Next is not null) ret.Next.Prev = ret.Prev;
    }

    private static void Unlift(Entry call)
    {
        var ret = call.Match!;
        ret.Prev!.Next = ret;
        if (ret.Next is not null) ret.Next.Prev = ret;
        call.Prev!.Next = call;
        call.Next!.Prev = call;
    }
}
