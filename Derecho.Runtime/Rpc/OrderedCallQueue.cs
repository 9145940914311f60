using Derecho.Errors;
using Derecho.Membership;
using Derecho.Wire;

namespace Derecho.Rpc;

/// <summary>
/// This member's ordered calls on their way into a shard's ring. A call goes straight into the ring when
/// nothing of its shard is queued and the ring has room (no copy, no allocation, no hop). Otherwise (ring
/// full; view wedged, changing or inadequate) it is copied into the shard's queue and the caller's thread
/// returns at once: the protocol thread moves queued calls into the ring, in the order they were made, as
/// soon as there is room in a view that runs the shard, and the calls' tasks complete later.
/// Bound: every queued call is a call whose task its caller holds, so callers that await their calls (or
/// keep a fixed number in flight) bound the queue. It refuses nothing and no thread ever waits on it.
/// </summary>
internal sealed class OrderedCallQueue(int myId, int maxPayloadBytes, ViewSlot views, PendingCalls calls, Func<uint, string> nameOf, Action wake)
{
    private readonly object _shardsGate = new();
    // Read by the protocol thread every iteration: an array, replaced when a shard gets its first queue.
    private volatile ShardQueue[] _shards = [];
    private int _queued;
    private volatile string? _stopped;

    /// <summary>
    /// Puts an ordered call into its shard: returns the shard's members if it went into the ring now, or null if it
    /// was queued (<see cref="PendingCalls.Retarget"/> follows when it goes in). Throws if it can never go in.
    /// </summary>
    public int[]? Send(uint typeId, int shard, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > maxPayloadBytes)
            throw new ArgumentException($"message of {payload.Length} bytes exceeds MaxPayloadBytes {maxPayloadBytes}", nameof(payload));
        var queue = QueueOf(typeId, shard);
        lock (queue)
        {
            if (_stopped is { } reason) throw new MemberStoppedException(myId, reason);
            if (queue.Calls.Count == 0)
            {
                var view = views.Installed;
                var target = view.Find(typeId, shard);
                if (target is null && view.Layout.IsAdequate) throw NotInShard(typeId, shard, view);
                if (target is not null && target.Multicast.TrySend(payload)) return target.Members;
                if (target?.Multicast.StopReason is { } stopped) throw new MemberStoppedException(myId, $"multicast stopped: {stopped}");
            }
            queue.Calls.Enqueue(payload.ToArray());
            Interlocked.Increment(ref _queued);
        }
        wake();
        return null;
    }

    /// <summary>Protocol step: when a shard has queued calls and its ring has room in the current view, move them in, in order.</summary>
    public bool SendQueuedStep()
    {
        if (Volatile.Read(ref _queued) == 0) return false;
        var view = views.Installed;
        var progress = false;
        foreach (var queue in _shards)
        {
            lock (queue)
            {
                if (queue.Calls.Count == 0) continue;
                var target = view.Find(queue.TypeId, queue.Shard);
                if (target is null)
                {
                    // An inadequate view runs no shard: wait for one that does. An adequate one without us in the shard never will.
                    if (view.Layout.IsAdequate) progress |= FailAll(queue, NotInShard(queue.TypeId, queue.Shard, view));
                    continue;
                }
                if (target.Multicast.StopReason is { } stopped)
                {
                    progress |= FailAll(queue, new MemberStoppedException(myId, $"multicast stopped: {stopped}"));
                    continue;
                }
                // TrySendNow, not TrySend: this runs on the protocol thread, whose next steps push the ring anyway.
                while (queue.Calls.TryPeek(out var call) && target.Multicast.TrySendNow(call))
                {
                    queue.Calls.Dequeue();
                    Interlocked.Decrement(ref _queued);
                    calls.Retarget(RpcHeaders.RequestIdOf(call), target.Members);
                    progress = true;
                }
            }
        }
        return progress;
    }

    /// <summary>Refuses further calls and drops queued ones (the engine fails every pending call right after).</summary>
    public void Stop(string reason)
    {
        Interlocked.CompareExchange(ref _stopped, reason, null);
        foreach (var queue in _shards)
        {
            lock (queue)
            {
                Interlocked.Add(ref _queued, -queue.Calls.Count);
                queue.Calls.Clear();
            }
        }
    }

    private bool FailAll(ShardQueue queue, Exception reason)
    {
        var requests = queue.Calls.Select(call => RpcHeaders.RequestIdOf(call)).ToList();
        Interlocked.Add(ref _queued, -queue.Calls.Count);
        queue.Calls.Clear();
        calls.FailUnsent(requests, reason);
        return true;
    }

    private ShardQueue QueueOf(uint typeId, int shard)
    {
        foreach (var queue in _shards)
            if (queue.TypeId == typeId && queue.Shard == shard) return queue;
        lock (_shardsGate)
        {
            foreach (var queue in _shards)
                if (queue.TypeId == typeId && queue.Shard == shard) return queue;
            var added = new ShardQueue(typeId, shard);
            _shards = [.. _shards, added];
            return added;
        }
    }

    private ShardUnavailableException NotInShard(uint typeId, int shard, ActiveView view) =>
        new($"member {myId} is not in shard {shard} of {nameOf(typeId)} in view {view.View.Id}");

    /// <summary>One shard's queued calls (whole ordered-call payloads), oldest first; locked while read or changed.</summary>
    private sealed record ShardQueue(uint TypeId, int Shard)
    {
        public Queue<byte[]> Calls { get; } = new();
    }
}
