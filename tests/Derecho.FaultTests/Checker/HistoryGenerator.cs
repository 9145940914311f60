namespace Derecho.FaultTests.Checker;

/// <summary>Known histories built by hand (times in arbitrary ticks), and random ones from a simulated register.</summary>
internal static class H
{
    public static Op Put(int p, string k, string v, long t0, long t1, Outcome outcome = Outcome.Ok) => new(p, Op.Put, k, v, t0, outcome == Outcome.Unknown ? long.MaxValue : t1, outcome);

    public static Op Read(int p, string k, string? v, long t0, long t1, Outcome outcome = Outcome.Ok) => new(p, Op.Read, k, v, t0, t1, outcome);

    /// <summary>
    /// A linearizable history by construction: <paramref name="processes"/> sequential processes whose operations
    /// take effect at a random instant inside their interval, applied in that order to one register per key; puts
    /// sometimes end unknown (applied or not, at random) or failed (not applied).
    /// </summary>
    public static List<Op> RandomLinearizable(int seed, int processes, int operationsPerProcess, int keys)
    {
        var random = new Random(seed);
        var planned = new List<(Op Op, long Point, bool Applied)>();
        for (var p = 0; p < processes; p++)
        {
            long time = random.Next(0, 10);
            for (var i = 0; i < operationsPerProcess; i++)
            {
                var invoke = time + random.Next(0, 4);
                var point = invoke + random.Next(1, 6);
                var complete = point + random.Next(1, 6);
                time = complete;
                var key = $"k{random.Next(keys)}";
                if (random.Next(2) == 0)
                {
                    var roll = random.Next(100);
                    var outcome = roll < 4 ? Outcome.Unknown : roll < 6 ? Outcome.Fail : Outcome.Ok;
                    var applied = outcome == Outcome.Ok || (outcome == Outcome.Unknown && random.Next(2) == 0);
                    planned.Add((Put(p, key, $"v{p}-{i}", invoke, complete, outcome), point, applied));
                }
                else planned.Add((Read(p, key, null, invoke, complete), point, true));
            }
        }
        // Distinct effect points (ties broken at random), applied in order.
        var state = new Dictionary<string, string?>();
        var history = new List<Op>();
        foreach (var (op, _, applied) in planned.OrderBy(x => x.Point).ThenBy(_ => random.Next()))
        {
            if (op.IsPut)
            {
                if (applied) state[op.Key] = op.Value;
                history.Add(op);
            }
            else history.Add(op with { Value = state.GetValueOrDefault(op.Key) });
        }
        return history.OrderBy(o => o.Invoke).ToList();
    }

    /// <summary>
    /// Turns one read into a stale read: it returns the value of a put that was followed, entirely before the read
    /// started, by another acknowledged put of the same key. Returns the changed read.
    /// </summary>
    public static Op InjectStaleRead(List<Op> history, int seed)
    {
        var random = new Random(seed);
        var reads = history.Select((o, i) => (o, i)).Where(x => !x.o.IsPut && x.o.Outcome == Outcome.Ok).OrderBy(_ => random.Next()).ToList();
        foreach (var (read, index) in reads)
        {
            var puts = history.Where(o => o.IsPut && o.Outcome == Outcome.Ok && o.Key == read.Key && o.Complete < read.Invoke).ToList();
            var older = puts.FirstOrDefault(w1 => puts.Any(w2 => w2.Invoke > w1.Complete && w2.Complete < read.Invoke) && w1.Value != read.Value);
            if (older is null) continue;
            history[index] = read with { Value = older.Value };
            return history[index];
        }
        throw new InvalidOperationException("no read to make stale");
    }
}
