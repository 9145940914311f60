using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Derecho.Internal;

/// <summary>
/// Warnings about what peers send, rate-limited per peer: the first since the peer connected is logged, the
/// rest are counted and summed up in one line, at most once per summary interval and when the peer goes
/// away. A peer that sends garbage in a loop costs a few lines, not one per message. Callers write
/// <c>if (warnings.ShouldLog(peer)) logger.LogWarning(...)</c>, so a suppressed warning formats nothing.
/// </summary>
internal sealed class PeerWarnings
{
    public static readonly TimeSpan DefaultSummaryInterval = TimeSpan.FromSeconds(30);

    private readonly string _owner;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _summaryInterval;
    private readonly ConcurrentDictionary<int, Tally> _peers = new();

    /// <summary>Warnings of <paramref name="owner"/> (as the summary line names it: "Member 3", "Client 12"); summaries at most once per <paramref name="summaryInterval"/>.</summary>
    public PeerWarnings(string owner, ILogger logger, TimeProvider? clock = null, TimeSpan? summaryInterval = null)
    {
        _owner = owner;
        _logger = logger;
        _clock = clock ?? TimeProvider.System;
        _summaryInterval = summaryInterval ?? DefaultSummaryInterval;
    }

    private sealed class Tally(long since)
    {
        public int Suppressed;
        public long Since = since;
    }

    /// <summary>Whether to log this warning about <paramref name="peer"/>: true for its first; later ones are counted instead.</summary>
    public bool ShouldLog(int peer)
    {
        var now = _clock.GetTimestamp();
        if (!_peers.TryGetValue(peer, out var tally))
        {
            if (_peers.TryAdd(peer, new Tally(now))) return true;
            tally = _peers.GetOrAdd(peer, static (_, t) => new Tally(t), now); // another thread added it (or forgot it since)
        }
        Interlocked.Increment(ref tally.Suppressed);
        var since = Volatile.Read(ref tally.Since);
        // One thread wins the interval and reports what was counted in it.
        if (_clock.GetElapsedTime(since, now) >= _summaryInterval && Interlocked.CompareExchange(ref tally.Since, now, since) == since)
            Summarize(peer, Interlocked.Exchange(ref tally.Suppressed, 0), "so far");
        return false;
    }

    /// <summary>The peer is gone (disconnected or forgotten): says how many of its warnings were suppressed; its next one is logged again.</summary>
    public void Forget(int peer)
    {
        if (_peers.TryRemove(peer, out var tally)) Summarize(peer, Volatile.Read(ref tally.Suppressed), "before it disconnected");
    }

    private void Summarize(int peer, int suppressed, string when)
    {
        if (suppressed > 0)
            _logger.LogWarning("{Owner}: {Count} more warning(s) about messages from peer {Peer} suppressed {When} (only the first per connection is logged)",
                _owner, suppressed, peer, when);
    }
}
