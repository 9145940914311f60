using System.Diagnostics;
using Xunit.Abstractions;

namespace Derecho.FaultTests.Checker;

/// <summary>The linearizability checker on a corpus of known histories.</summary>
public sealed class CheckerTests(ITestOutputHelper output)
{
    public static TheoryData<string, Op[]> Linearizable => new()
    {
        { "sequential puts and reads", [H.Read(0, "x", null, 0, 1), H.Put(0, "x", "a", 2, 3), H.Read(1, "x", "a", 4, 5), H.Put(1, "x", "b", 6, 7), H.Read(0, "x", "b", 8, 9)] },
        { "overlapping writes, later reads see the one that took effect last", [H.Put(0, "x", "a", 0, 10), H.Put(1, "x", "b", 1, 11), H.Read(2, "x", "a", 12, 13), H.Read(3, "x", "a", 14, 15)] },
        { "reads overlapping a write see old then new", [H.Put(0, "x", "a", 0, 2), H.Put(1, "x", "b", 3, 10), H.Read(2, "x", "a", 4, 5), H.Read(2, "x", "b", 6, 7), H.Read(3, "x", "b", 8, 9)] },
        { "concurrent reads of a concurrent write disagree", [H.Put(0, "x", "a", 0, 1), H.Put(1, "x", "b", 2, 10), H.Read(2, "x", "b", 3, 6), H.Read(3, "x", "a", 4, 7)] },
        { "read concurrent with the first write sees null", [H.Put(0, "x", "a", 0, 10), H.Read(1, "x", null, 5, 6), H.Read(1, "x", "a", 11, 12)] },
        { "unknown write seen later", [H.Put(0, "x", "a", 0, 1), H.Put(1, "x", "b", 2, 0, Outcome.Unknown), H.Read(2, "x", "a", 3, 4), H.Read(2, "x", "b", 100, 101)] },
        { "unknown write never seen", [H.Put(0, "x", "a", 0, 1), H.Put(1, "x", "b", 2, 0, Outcome.Unknown), H.Read(2, "x", "a", 3, 4), H.Read(2, "x", "a", 100, 101)] },
        { "unknown write seen long after its client gave up", [H.Read(0, "x", null, 0, 1), H.Put(1, "x", "a", 2, 0, Outcome.Unknown), H.Read(0, "x", null, 50, 51), H.Read(0, "x", "a", 99, 100)] },
        { "failed write and unknown read are dropped", [H.Put(0, "x", "a", 0, 1), H.Put(1, "x", "b", 2, 3, Outcome.Fail), H.Read(2, "x", "zzz", 4, 5, Outcome.Unknown), H.Read(2, "x", "a", 6, 7)] },
        { "keys are independent", [H.Put(0, "x", "a", 0, 1), H.Put(0, "y", "b", 2, 3), H.Read(1, "x", "a", 4, 5), H.Read(1, "y", "b", 4, 5), H.Read(1, "z", null, 4, 5)] },
    };

    public static TheoryData<string, Op[], Op> NonLinearizable
    {
        get
        {
            var stale = H.Read(2, "x", "a", 4, 5);
            var lost = H.Read(2, "x", null, 10, 11);
            var lostLater = H.Read(2, "x", "a", 10, 11);
            var phantom = H.Read(1, "x", "never", 2, 3);
            var back = H.Read(3, "x", "a", 6, 7);
            var failedSeen = H.Read(1, "x", "b", 4, 5);
            var afterUnknown = H.Read(2, "x", "a", 8, 9);
            return new()
            {
                { "stale read after an acknowledged write", [H.Put(0, "x", "a", 0, 1), H.Put(1, "x", "b", 2, 3), stale], stale },
                { "lost update: an acknowledged write gone (read null)", [H.Put(0, "x", "a", 0, 1), H.Read(1, "x", "a", 2, 3), lost], lost },
                { "lost update: the later of two acknowledged writes gone", [H.Put(0, "x", "a", 0, 1), H.Put(1, "x", "b", 2, 3), H.Read(0, "x", "b", 4, 5), lostLater], lostLater },
                { "read of a never-written value", [H.Put(0, "x", "a", 0, 1), phantom], phantom },
                { "read going back in time", [H.Put(0, "x", "a", 0, 1), H.Put(1, "x", "b", 2, 20), H.Read(2, "x", "b", 3, 4), back], back },
                { "a failed write observed", [H.Put(0, "x", "a", 0, 1), H.Put(0, "x", "b", 2, 3, Outcome.Fail), failedSeen], failedSeen },
                { "an unknown write seen, then undone", [H.Put(0, "x", "a", 0, 1), H.Put(1, "x", "b", 2, 0, Outcome.Unknown), H.Read(2, "x", "b", 5, 6), afterUnknown], afterUnknown },
            };
        }
    }

    [Theory]
    [MemberData(nameof(Linearizable))]
    public void Says_linearizable(string name, Op[] history)
    {
        var verdict = Linearizability.Check(history);
        Assert.True(verdict.Linearizable, $"{name}:\n{verdict.Report()}");
    }

    [Theory]
    [MemberData(nameof(NonLinearizable))]
    public void Finds_the_violation_and_reports_a_minimal_window(string name, Op[] history, Op culprit)
    {
        var verdict = Linearizability.Check(history);
        Assert.False(verdict.Linearizable, name);
        var anomaly = Assert.Single(verdict.Anomalies);
        Assert.Equal("x", anomaly.Key);
        Assert.Contains(culprit, anomaly.Window);
        // Minimal: nothing the violation does not need (the history itself is already small).
        Assert.True(anomaly.Window.Count <= history.Length, verdict.Report());
        Assert.Contains("x", verdict.Report(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_window_of_a_stale_read_in_a_long_history_is_just_the_two_writes_and_the_read()
    {
        var history = new List<Op>();
        for (var i = 0; i < 200; i++) history.Add(H.Put(0, "x", $"w{i}", i * 10, i * 10 + 5));
        var stale = H.Read(1, "x", "w100", 1505, 1506);
        history.Add(stale);
        var verdict = Linearizability.Check(history);
        var anomaly = Assert.Single(verdict.Anomalies);
        Assert.Equal(3, anomaly.Window.Count);
        Assert.Contains(stale, anomaly.Window);
        Assert.Contains(H.Put(0, "x", "w100", 1000, 1005), anomaly.Window);
        Assert.Contains("p1 read(x) -> \"w100\" ok", verdict.Report(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_large_random_linearizable_history_is_ok_quickly(int seed)
    {
        var history = H.RandomLinearizable(seed, processes: 12, operationsPerProcess: 2000, keys: 5);
        var clock = Stopwatch.StartNew();
        var verdict = Linearizability.Check(history);
        Assert.True(verdict.Linearizable, verdict.Report());
        Assert.Equal(5, verdict.Keys.Count);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_same_history_with_one_stale_read_injected_is_a_violation_of_that_key(int seed)
    {
        var history = H.RandomLinearizable(seed, processes: 12, operationsPerProcess: 2000, keys: 5);
        var stale = H.InjectStaleRead(history, seed);
        var verdict = Linearizability.Check(history);
        var anomaly = Assert.Single(verdict.Anomalies);
        Assert.Equal(stale.Key, anomaly.Key);
        Assert.Contains(stale, anomaly.Window);
        Assert.True(anomaly.Window.Count < 50, verdict.Report());
        output.WriteLine(verdict.Report());
    }

    [Fact]
    public void A_history_round_trips_through_its_file()
    {
        var history = H.RandomLinearizable(7, 3, 20, 2);
        var path = Path.GetTempFileName();
        try
        {
            HistoryFile.Write(path, history);
            Assert.Equal(history, HistoryFile.Read(path));
        }
        finally { File.Delete(path); }
    }
}
