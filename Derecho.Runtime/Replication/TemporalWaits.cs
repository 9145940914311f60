using System.Buffers;
using System.Collections.Concurrent;

namespace Derecho.Replication;

/// <summary>
/// P2P calls at a time their shard's stable time frontier has not passed here yet, parked until it has (protocol
/// thread only, never blocking it). The frontier moves with every delivery; a shard with nothing to deliver gets an
/// ordered time barrier once the wall clock is past the time asked, and a timer wakes the loop when that moment comes.
/// </summary>
internal sealed class TemporalWaits(Action wake) : IDisposable
{
    /// <summary>How far ahead of this member's clock a call may ask to read; further is refused, not parked.</summary>
    public static readonly TimeSpan MaxAhead = TimeSpan.FromMinutes(1);

    /// <summary>Calls parked at once at most; more are refused (each holds its request).</summary>
    public const int MaxParked = 10_000;

    /// <summary>A call whose time has not become stable this long after it was asked is answered "not stable" (a wedged shard).</summary>
    public static readonly TimeSpan MaxWait = MaxAhead + TimeSpan.FromSeconds(30);

    private readonly List<Parked> _parked = new();
    private readonly ConcurrentDictionary<ShardReplica, bool> _barriers = new(); // shards with a barrier in flight
    private readonly TimeProvider _clock = TimeProvider.System;
    private ITimer? _timer;
    private long _timerDue = long.MaxValue;

    /// <summary>Multicasts an ordered time barrier into a shard (the RPC engine; set once it exists).</summary>
    public Func<uint, int, Task>? SendBarrier { get; set; }

    public int Count => _parked.Count;

    public void Park(int from, ReadOnlySpan<byte> message, long ticks, ShardReplica target)
    {
        var copy = ArrayPool<byte>.Shared.Rent(message.Length);
        message.CopyTo(copy);
        _parked.Add(new Parked(from, copy, message.Length, ticks, target, _clock.GetUtcNow().UtcTicks));
        Nudge(target, ticks);
    }

    /// <summary>
    /// Runs, through <paramref name="run"/>, every parked call whose time is now stable, or whose replica can no longer
    /// serve it (<paramref name="serves"/> false: <paramref name="run"/> answers with the reason); answers through
    /// <paramref name="expire"/> the calls that waited <see cref="MaxWait"/>; moves the frontiers of the others.
    /// </summary>
    public bool Step(Action<int, ReadOnlySpan<byte>> run, Func<ShardReplica, bool> serves, Action<int, ReadOnlySpan<byte>> expire)
    {
        if (_parked.Count == 0) return false;
        var progress = false;
        var now = _clock.GetUtcNow().UtcTicks;
        var kept = 0;
        for (var i = 0; i < _parked.Count; i++)
        {
            var parked = _parked[i];
            var stable = parked.Target.AgreedTicks > parked.Ticks;
            var expired = !stable && now - parked.Since > MaxWait.Ticks;
            if (!stable && !expired && serves(parked.Target))
            {
                Nudge(parked.Target, parked.Ticks);
                _parked[kept++] = parked;
                continue;
            }
            progress = true;
            try
            {
                if (expired) expire(parked.From, parked.Buffer.AsSpan(0, parked.Length));
                else run(parked.From, parked.Buffer.AsSpan(0, parked.Length));
            }
            finally { ArrayPool<byte>.Shared.Return(parked.Buffer); }
        }
        _parked.RemoveRange(kept, _parked.Count - kept); // one pass, no shifting per answered call
        return progress;
    }

    /// <summary>Calls still parked when the member stops get no answer (their callers see the member go).</summary>
    public void Dispose()
    {
        _timer?.Dispose();
        foreach (var parked in _parked) ArrayPool<byte>.Shared.Return(parked.Buffer);
        _parked.Clear();
    }

    /// <summary>Gets the frontier of <paramref name="target"/> past <paramref name="ticks"/>: a barrier once the clock is past it, a timer until then.</summary>
    private void Nudge(ShardReplica target, long ticks)
    {
        var now = _clock.GetUtcNow().UtcTicks;
        if (now <= ticks)
        {
            WakeAt(ticks + 1);
            return;
        }
        if (SendBarrier is not { } send || !_barriers.TryAdd(target, true)) return;
        ThreadPool.QueueUserWorkItem(_ =>
        {
            Task barrier;
            try { barrier = send(target.TypeId, target.Shard); }
            catch (Exception e) { barrier = Task.FromException(e); }
            // Delivered (or failed: a view change, the member stopping): the next step looks again, and sends another if needed.
            // A failed one is retried after a pause, not in a loop.
            barrier.ContinueWith(done => Task.Delay(done.IsFaulted ? 50 : 0).ContinueWith(_ =>
            {
                _barriers.TryRemove(target, out bool _);
                wake();
            }, TaskScheduler.Default), TaskScheduler.Default);
        });
    }

    private void WakeAt(long ticks)
    {
        if (ticks >= _timerDue && _timerDue > _clock.GetUtcNow().UtcTicks) return;
        _timerDue = ticks;
        var delay = TimeSpan.FromTicks(Math.Max(0, ticks - _clock.GetUtcNow().UtcTicks)) + TimeSpan.FromMilliseconds(1);
        _timer ??= _clock.CreateTimer(_ => wake(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    private readonly record struct Parked(int From, byte[] Buffer, int Length, long Ticks, ShardReplica Target, long Since);
}
