using System.Threading.Channels;
using Derecho.Errors;
using Derecho.Wire;

namespace Derecho.Client;

/// <summary>
/// The client's side of one subscription across members. It remembers the position (version, index) of the last
/// notification it received; when the member serving it dies, leaves the shard, or says it cannot serve, it subscribes
/// at another member of the shard after that position. Virtual synchrony makes that exact: every survivor delivered
/// the same calls, so it recorded the same notifications; what overlaps is dropped by position, what is missing is
/// reported (a gap), never skipped. Transport threads call in; the enumeration reads <see cref="Items"/>.
/// </summary>
internal sealed class ClientSubscription
{
    private readonly DerechoClient _client;
    private readonly object _gate = new();
    private readonly Channel<Item> _items = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HashSet<int> _tried = new(); // this round: members that could not serve (gone, not holding the shard)
    private readonly HashSet<int> _gapped = new(); // members that lack notifications after our position: they never will have them
    private readonly int _buffer;
    private readonly TimeSpan _viewWait;
    private long _attempt;
    private int _member = -1;
    private long _receivedVersion;
    private int _receivedIndex;
    private string? _gap;
    private string _lastRefusal = "no member of the shard answered";
    private int _queued;
    private int _waitGeneration;
    private bool _over;

    public ClientSubscription(DerechoClient client, uint typeId, int shard, string? topic, long afterVersion, int buffer, TimeSpan viewWait)
    {
        _client = client;
        TypeId = typeId;
        Shard = shard;
        Topic = topic;
        _buffer = buffer;
        _viewWait = viewWait;
        (_receivedVersion, _receivedIndex) = afterVersion < 0 ? (NotificationMessages.Oldest, -1) : (afterVersion, int.MaxValue);
        StartVersion = _receivedVersion;
        StartIndex = _receivedIndex;
    }

    public uint TypeId { get; }

    public int Shard { get; }

    public string? Topic { get; }

    public long StartVersion { get; }

    public int StartIndex { get; }

    /// <summary>Batches of notifications in order, or the error that ended the subscription.</summary>
    public ChannelReader<Item> Items => _items.Reader;

    /// <summary>The member serving the subscription now (-1: none, waiting for a view).</summary>
    public int Member
    {
        get { lock (_gate) return _member; }
    }

    public void Start()
    {
        lock (_gate) MoveLocked();
    }

    /// <summary>A batch from <paramref name="peer"/> (its reader thread, which waits here while the enumeration is <c>NotificationBuffer</c> behind).</summary>
    public void OnBatch(int peer, long attempt, RawNotification[] batch)
    {
        lock (_gate)
        {
            while (_queued >= _buffer && !_over && attempt == _attempt) Monitor.Wait(_gate, 500);
            if (_over || attempt != _attempt || peer != _member || batch.Length == 0) return;
            var last = batch[^1];
            if (!last.IsAfter(_receivedVersion, _receivedIndex)) return; // a member never sends what we did not ask for; be safe
            (_receivedVersion, _receivedIndex) = (last.Version, last.Index);
            _tried.Clear(); // it serves us: a later move starts a fresh round
            _gapped.Clear();
            _queued += batch.Length;
            _items.Writer.TryWrite(new Item(batch, null));
        }
    }

    /// <summary>The enumeration handed out a batch.</summary>
    public void Consumed(int count)
    {
        lock (_gate)
        {
            _queued -= count;
            Monitor.PulseAll(_gate);
        }
    }

    public void OnEnded(int peer, long attempt, SubscriptionEnd reason, string why)
    {
        lock (_gate)
        {
            if (_over || attempt != _attempt || peer != _member) return;
            switch (reason)
            {
                case SubscriptionEnd.NotHeld:
                    _lastRefusal = $"member {peer}: {why}";
                    _tried.Add(peer);
                    MoveLocked();
                    break;
                case SubscriptionEnd.Gap:
                    _gap = $"member {peer}: {why}";
                    _gapped.Add(peer);
                    MoveLocked();
                    break;
                case SubscriptionEnd.Unauthorized:
                    FailLocked(new UnauthorizedCallException(peer, why));
                    break;
                default:
                    FailLocked(new SubscriptionEndedException(peer, why));
                    break;
            }
        }
    }

    /// <summary>The connection to <paramref name="peer"/> was lost: if it served us, resume at another member.</summary>
    public void OnPeerLost(int peer, string reason)
    {
        lock (_gate)
        {
            if (_over || peer != _member) return;
            _lastRefusal = $"member {peer}: connection lost ({reason})";
            _tried.Add(peer);
            MoveLocked();
        }
    }

    /// <summary>A new view: move off a member that left the shard; one waiting for a member tries again.</summary>
    public void OnView()
    {
        lock (_gate)
        {
            if (_over) return;
            int[] members;
            try { members = _client.Layout.MembersOf(TypeId, Shard); }
            catch (ArgumentException) { members = []; }
            if (_member >= 0)
            {
                if (Array.IndexOf(members, _member) >= 0) return;
                _client.TrySend(_member, NotificationMessages.Unsubscribe(_attempt));
                _lastRefusal = $"member {_member} left the shard";
                _tried.Add(_member);
            }
            else _tried.Clear(); // a new view: those that did not hold the shard may hold it now
            MoveLocked();
        }
    }

    /// <summary>The enumeration stopped: unsubscribe.</summary>
    public void Close()
    {
        lock (_gate)
        {
            if (!_over && _member >= 0) _client.TrySend(_member, NotificationMessages.Unsubscribe(_attempt));
            EndLocked();
        }
    }

    public void Fail(Exception error)
    {
        lock (_gate) FailLocked(error);
    }

    private void MoveLocked()
    {
        _client.Forget(this, _attempt);
        _member = -1;
        int[] members;
        try { members = _client.Layout.MembersOf(TypeId, Shard); }
        catch (ArgumentException e)
        {
            FailLocked(new SubscriptionEndedException(-1, e.Message));
            return;
        }
        while (true)
        {
            var candidates = members.Where(m => !_tried.Contains(m) && !_gapped.Contains(m)).ToArray();
            if (candidates.Length == 0)
            {
                if (_gapped.Count > 0) FailLocked(new NotificationGapException(_gapped.Last(), $"no member of shard {Shard} has every notification after version {_receivedVersion}, index {_receivedIndex} (last: {_gap})"));
                else WaitForViewLocked();
                return;
            }
            var contact = _client.Contact;
            var member = Array.IndexOf(candidates, contact) >= 0 ? contact : candidates[(int)((uint)_client.Id % (uint)candidates.Length)];
            _attempt = _client.Register(this);
            _member = member;
            if (_client.TrySend(member, NotificationMessages.Subscribe(_attempt, TypeId, Shard, _receivedVersion, _receivedIndex, Topic))) return;
            _client.Forget(this, _attempt);
            _member = -1;
            _lastRefusal = $"member {member}: unreachable";
            _tried.Add(member);
        }
    }

    /// <summary>No member of the shard in the view we know can serve: wait for the next view, for a while.</summary>
    private void WaitForViewLocked()
    {
        var generation = ++_waitGeneration;
        _ = Task.Delay(_viewWait).ContinueWith(_ =>
        {
            lock (_gate)
                if (!_over && _member < 0 && generation == _waitGeneration)
                    FailLocked(new SubscriptionEndedException(-1,
                        $"no member of shard {Shard} could serve the subscription within {_viewWait.TotalSeconds:0.#}s (last: {_lastRefusal})"));
        }, TaskScheduler.Default);
    }

    private void FailLocked(Exception error)
    {
        if (_over) return;
        _items.Writer.TryWrite(new Item(null, error));
        EndLocked();
    }

    private void EndLocked()
    {
        _over = true;
        _client.Forget(this, _attempt);
        _member = -1;
        _items.Writer.TryComplete();
        Monitor.PulseAll(_gate);
    }

    /// <summary>A batch, or the error that ended the subscription.</summary>
    internal readonly record struct Item(RawNotification[]? Batch, Exception? Error);
}
