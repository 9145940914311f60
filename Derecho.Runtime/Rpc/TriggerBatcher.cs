using Derecho.Errors;
using Derecho.Wire;

namespace Derecho.Rpc;

/// <summary>How a sender batches trigger events and bounds what it holds per member.</summary>
internal readonly record struct TriggerWindow(int MaxBatchBytes, long MaxBytesInFlight, long MaxBytesQueued, TimeSpan Timeout)
{
    /// <summary>Why a window cannot work, or null.</summary>
    public string? Invalid() =>
        MaxBatchBytes < 1024 ? $"MaxTriggerBatchBytes {MaxBatchBytes} is under 1024"
        : MaxBytesInFlight < 1 ? $"MaxTriggerBytesInFlight {MaxBytesInFlight} is not positive"
        : MaxBytesQueued < 0 ? $"MaxTriggerBytesQueued {MaxBytesQueued} is negative"
        : Timeout <= TimeSpan.Zero ? "the trigger timeout is not positive" : null;
}

/// <summary>
/// The sender side of trigger calls, for a client or a member: per destination member, events are packed into
/// batches (one <see cref="MessageKind.TriggerBatch"/> frame each) that share one task, completed by the member's
/// <see cref="MessageKind.TriggerAck"/>.
/// <list type="bullet">
/// <item>A batch is sent when it is full (<see cref="TriggerWindow.MaxBatchBytes"/>), on the next thread-pool turn
/// when nothing is in flight to the member (an idle sender adds no delay), or when an acknowledgement comes back
/// (what gathered during the round trip goes at once).</item>
/// <item>Sent, unacknowledged bytes per member stay within <see cref="TriggerWindow.MaxBytesInFlight"/> (one batch
/// always may go). Events beyond it wait, unsent, in batches; past <see cref="TriggerWindow.MaxBytesQueued"/>
/// of waiting bytes an event is refused at once: its task is faulted ("trigger window full"), nothing is queued.</item>
/// <item>A batch not acknowledged within <see cref="TriggerWindow.Timeout"/>, or in flight or waiting when the
/// member is lost, faults its task with a <see cref="TriggerNotAcceptedException"/>.</item>
/// </list>
/// Never blocks: callers hold a lane's lock only to copy an event in or a batch out to the transport's queue.
/// </summary>
internal sealed class TriggerBatcher : IDisposable
{
    private readonly string _owner;
    private readonly TriggerWindow _window;
    private readonly Action<int, ReadOnlySpan<byte>> _send;
    private readonly Dictionary<int, Lane> _lanes = new();
    private readonly Timer _sweeper;
    private long _nextBatch;
    private volatile string? _closed;

    /// <param name="owner">Who sends, for error messages ("client 12", "member 3").</param>
    /// <param name="window">Batch size and the per-member bounds.</param>
    /// <param name="send">Sends one frame to a member and flushes; throws <see cref="InvalidOperationException"/> when the member is no peer.</param>
    public TriggerBatcher(string owner, TriggerWindow window, Action<int, ReadOnlySpan<byte>> send)
    {
        _owner = owner;
        _window = window;
        _send = send;
        var period = TimeSpan.FromTicks(Math.Clamp(window.Timeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 50, TimeSpan.TicksPerSecond));
        _sweeper = new Timer(static state => ((TriggerBatcher)state!).Sweep(), this, period, period);
    }

    /// <summary>Batches sent so far (frames), for tests and diagnostics.</summary>
    public long BatchesSent => Interlocked.Read(ref _nextBatch);

    /// <summary>
    /// Queues one event (header written, then arguments) for <paramref name="member"/>; the task completes when the
    /// member acknowledged the batch holding it.
    /// </summary>
    public Task Enqueue(int member, ReadOnlySpan<byte> @event)
    {
        if (_closed is { } closed) return Task.FromException(new TriggerNotAcceptedException($"{_owner} sends no more trigger events: {closed}"));
        if (@event.Length + TriggerMessages.BatchHeaderSize > _window.MaxBatchBytes)
            return Task.FromException(new ArgumentException(
                $"a trigger event of {@event.Length - TriggerMessages.EventHeaderSize} argument bytes exceeds MaxTriggerBatchBytes {_window.MaxBatchBytes} less the batch and event headers"));
        var lane = LaneOf(member);
        Task accepted;
        var schedule = false;
        lock (lane)
        {
            if (lane.Dead is { } dead) return Task.FromException(new TriggerNotAcceptedException(dead(false)));
            if (lane.QueuedBytes > 0 && lane.QueuedBytes + @event.Length > _window.MaxBytesQueued)
                return Task.FromException(new TriggerNotAcceptedException(
                    $"trigger window full: {lane.BytesInFlight} bytes in flight to member {member} await its acknowledgement and {lane.QueuedBytes} more wait to be sent " +
                    $"(MaxTriggerBytesInFlight {_window.MaxBytesInFlight}, MaxTriggerBytesQueued {_window.MaxBytesQueued}); the event was not sent"));
            if (lane.Open is { } open && open.Buffer.WrittenCount + @event.Length > _window.MaxBatchBytes) Seal(lane);
            var batch = lane.Open ??= new Batch();
            @event.CopyTo(batch.Buffer.GetSpan(@event.Length));
            batch.Buffer.Advance(@event.Length);
            batch.Count++;
            lane.QueuedBytes += @event.Length;
            accepted = batch.Done.Task;
            if (batch.Buffer.WrittenCount + TriggerMessages.EventHeaderSize >= _window.MaxBatchBytes)
            {
                Seal(lane);
                SendWhatFits(member, lane);
            }
            else if (lane.InFlight.Count == 0 && !lane.FlushScheduled)
            {
                lane.FlushScheduled = true;
                schedule = true;
            }
        }
        if (schedule) ThreadPool.UnsafeQueueUserWorkItem(static s => s.Batcher.Flush(s.Lane), (Batcher: this, Lane: lane), preferLocal: false);
        return accepted;
    }

    /// <summary>An acknowledgement from <paramref name="member"/> (only that member's lane can be completed by it).</summary>
    public void OnAck(int member, long batchId, ReplyStatus status, string reason)
    {
        Lane? lane;
        lock (_lanes) _lanes.TryGetValue(member, out lane);
        if (lane is null) return;
        Batch? batch;
        lock (lane)
        {
            if (!lane.InFlight.Remove(batchId, out batch)) return; // timed out already, or not ours
            lane.BytesInFlight -= batch.Buffer.WrittenCount - TriggerMessages.BatchHeaderSize;
            Seal(lane); // what gathered during the round trip goes now
            SendWhatFits(member, lane);
        }
        if (status == ReplyStatus.Ok) batch.Done.TrySetResult();
        else batch.Done.TrySetException(new TriggerNotAcceptedException($"member {member} refused {batch.Count} trigger event(s) ({status}): {reason}"));
        batch.Buffer.Dispose();
    }

    /// <summary>Members with a lane (events sent or waiting).</summary>
    public IReadOnlyList<int> Members
    {
        get
        {
            lock (_lanes) return _lanes.Keys.ToArray();
        }
    }

    /// <summary>The member is gone: every batch to it, sent or waiting, fails.</summary>
    public void OnPeerLost(int member, string reason)
    {
        Lane? lane;
        lock (_lanes)
            if (!_lanes.Remove(member, out lane)) return;
        Fail(lane, inFlight => inFlight
            ? $"member {member} was lost before it accepted the batch ({reason}); its events may or may not have been handled"
            : $"member {member} was lost ({reason}) before the events were sent");
    }

    /// <summary>Fails everything and refuses further events.</summary>
    public void Close(string reason)
    {
        _closed ??= reason;
        Lane[] lanes;
        lock (_lanes)
        {
            lanes = _lanes.Values.ToArray();
            _lanes.Clear();
        }
        foreach (var lane in lanes) Fail(lane, _ => $"{_owner} closed ({reason}) before the member accepted the events");
    }

    public void Dispose()
    {
        _sweeper.Dispose();
        Close("disposed");
    }

    private Lane LaneOf(int member)
    {
        lock (_lanes)
        {
            if (!_lanes.TryGetValue(member, out var lane)) _lanes[member] = lane = new Lane(member);
            return lane;
        }
    }

    private void Flush(Lane lane)
    {
        lock (lane)
        {
            lane.FlushScheduled = false;
            Seal(lane);
            SendWhatFits(lane.Member, lane);
        }
    }

    private static void Seal(Lane lane)
    {
        if (lane.Open is not { } open) return;
        lane.Sealed.Enqueue(open);
        lane.Open = null;
    }

    /// <summary>Sends waiting batches while the window has room (one batch may always be in flight). Under the lane's lock.</summary>
    private void SendWhatFits(int member, Lane lane)
    {
        while (lane.Sealed.TryPeek(out var batch))
        {
            var bytes = batch.Buffer.WrittenCount - TriggerMessages.BatchHeaderSize;
            if (lane.InFlight.Count > 0 && lane.BytesInFlight + bytes > _window.MaxBytesInFlight) return;
            lane.Sealed.Dequeue();
            lane.QueuedBytes -= bytes;
            batch.Id = Interlocked.Increment(ref _nextBatch);
            batch.SentAt = Environment.TickCount64;
            TriggerMessages.WriteBatchHeader(batch.Buffer.WrittenSpanMutable, batch.Count, batch.Id);
            lane.InFlight[batch.Id] = batch;
            lane.BytesInFlight += bytes;
            try { _send(member, batch.Buffer.WrittenSpan); }
            catch (InvalidOperationException e)
            {
                // Not a peer (any more): nothing to it can be sent; the batches fail now rather than at the timeout.
                var error = $"{_owner} cannot reach member {member}: {e.Message}";
                foreach (var failed in Drain(lane)) FailBatch(failed, error);
                return;
            }
        }
    }

    private void Sweep()
    {
        Lane[] lanes;
        lock (_lanes) lanes = _lanes.Values.ToArray();
        var now = Environment.TickCount64;
        var limit = (long)_window.Timeout.TotalMilliseconds;
        foreach (var lane in lanes)
        {
            List<Batch>? expired = null;
            lock (lane)
            {
                foreach (var (id, batch) in lane.InFlight)
                    if (now - batch.SentAt > limit) (expired ??= new()).Add(batch);
                if (expired is null) continue;
                foreach (var batch in expired)
                {
                    lane.InFlight.Remove(batch.Id);
                    lane.BytesInFlight -= batch.Buffer.WrittenCount - TriggerMessages.BatchHeaderSize;
                }
                Seal(lane);
                SendWhatFits(lane.Member, lane);
            }
            foreach (var batch in expired)
                FailBatch(batch, $"the member did not acknowledge {batch.Count} trigger event(s) within {_window.Timeout.TotalSeconds:0.#}s; they may or may not have been handled");
        }
    }

    private static void Fail(Lane lane, Func<bool, string> why)
    {
        List<Batch> inFlight, waiting;
        lock (lane)
        {
            lane.Dead = why;
            inFlight = lane.InFlight.Values.ToList();
            lane.InFlight.Clear();
            lane.BytesInFlight = 0;
            Seal(lane);
            waiting = lane.Sealed.ToList();
            lane.Sealed.Clear();
            lane.QueuedBytes = 0;
        }
        foreach (var batch in inFlight) FailBatch(batch, why(true));
        foreach (var batch in waiting) FailBatch(batch, why(false));
    }

    /// <summary>Takes every batch out of a lane (under its lock).</summary>
    private static List<Batch> Drain(Lane lane)
    {
        var all = lane.InFlight.Values.ToList();
        lane.InFlight.Clear();
        lane.BytesInFlight = 0;
        Seal(lane);
        all.AddRange(lane.Sealed);
        lane.Sealed.Clear();
        lane.QueuedBytes = 0;
        return all;
    }

    private static void FailBatch(Batch batch, string why)
    {
        batch.Done.TrySetException(new TriggerNotAcceptedException(why));
        batch.Buffer.Dispose();
    }

    /// <summary>Everything to one member; locked on itself.</summary>
    private sealed class Lane(int member)
    {
        public readonly int Member = member;
        public Batch? Open;
        public readonly Queue<Batch> Sealed = new();
        public readonly Dictionary<long, Batch> InFlight = new();
        public long BytesInFlight;
        public long QueuedBytes;
        public bool FlushScheduled;
        public Func<bool, string>? Dead; // removed from the batcher: why events for it fail
    }

    /// <summary>A frame's worth of events; its header is written when it is sent.</summary>
    private sealed class Batch
    {
        public readonly PooledBufferWriter Buffer = NewBuffer();
        public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Count;
        public long Id;
        public long SentAt;

        private static PooledBufferWriter NewBuffer()
        {
            var buffer = new PooledBufferWriter();
            buffer.GetSpan(TriggerMessages.BatchHeaderSize);
            buffer.Advance(TriggerMessages.BatchHeaderSize);
            return buffer;
        }
    }
}
