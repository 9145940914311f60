using System.Diagnostics;
using Derecho.Membership;
using Derecho.Persistence;
using Derecho.Rpc;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Replication;

/// <summary>
/// The sending side of state transfer. At a view boundary the protocol thread snapshots a shard it owes to
/// members new to it and offers the snapshot here; each receiver asks with its log's newest version (it may
/// ask before we installed the view: the request waits for the offer). A background task then sends the
/// log records the receiver lacks and the snapshot in parts, as fast as the connection takes them, so
/// neither the protocol thread nor the transport's memory carries a large state. A state that cannot be
/// taken is answered, on request too, with why (so the receiver knows whom it hears from). A new view cancels the
/// offers of older ones (their receivers ask again, whoever owes them the state then).
/// </summary>
internal sealed class ShardStateSender(int myId, TcpTransport transport, ILogger logger)
{
    public const int PartBytes = 4 << 20;
    // Parts queued for one connection beyond this wait: heartbeats and SST writes share it.
    private const int MaxQueuedBytes = 2 * PartBytes;

    private readonly object _gate = new();
    private readonly Dictionary<(uint TypeId, int Shard, long ViewId), Offered> _offers = new();
    private readonly Dictionary<(uint TypeId, int Shard, long ViewId, int From), long> _requests = new();

    /// <summary>Fault injection for tests: after this many parts of a state, stop sending it (as if about to crash); 0: never.</summary>
    public int StallAfterParts { get; set; }

    private sealed record Offered(ShardReplica Replica, long ViewId, byte[]? Snapshot, string? Problem, long UpTo, int[] Recipients, CancellationTokenSource Cancel);

    /// <summary>
    /// Protocol thread, at the start of view <paramref name="viewId"/>: <paramref name="snapshot"/> is the shard's
    /// state, its log up to <paramref name="upTo"/>; or null, and <paramref name="problem"/> says why it cannot be sent.
    /// </summary>
    public void Offer(ShardReplica replica, long viewId, byte[]? snapshot, string? problem, long upTo, int[] recipients)
    {
        var offer = new Offered(replica, viewId, snapshot, problem, upTo, recipients, new CancellationTokenSource());
        lock (_gate)
        {
            _offers[(replica.TypeId, replica.Shard, viewId)] = offer;
            foreach (var to in recipients)
                if (_requests.Remove((replica.TypeId, replica.Shard, viewId, to), out var after)) Start(offer, to, after);
        }
    }

    /// <summary>Transport thread: a member new to a shard asks for its state.</summary>
    public void OnRequest(int from, ShardStateRequest request)
    {
        lock (_gate)
        {
            if (_offers.TryGetValue((request.TypeId, request.Shard, request.ViewId), out var offer))
            {
                if (Array.IndexOf(offer.Recipients, from) >= 0) Start(offer, from, request.After);
            }
            else _requests[(request.TypeId, request.Shard, request.ViewId, from)] = request.After; // the view may not be ours yet
        }
    }

    /// <summary>A view began: offers and requests of earlier views are void (and their transfers stop).</summary>
    public void ForgetBefore(long viewId)
    {
        lock (_gate)
        {
            foreach (var (key, offer) in _offers.Where(o => o.Key.ViewId < viewId).ToList())
            {
                offer.Cancel.Cancel();
                _offers.Remove(key);
            }
            foreach (var key in _requests.Keys.Where(k => k.ViewId < viewId).ToList()) _requests.Remove(key);
        }
    }

    /// <summary>Stops every transfer (the member leaves).</summary>
    public void Stop() => ForgetBefore(long.MaxValue);

    private void Start(Offered offer, int to, long after) => _ = Task.Run(() => SendAsync(offer, to, after));

    private async Task SendAsync(Offered offer, int to, long after)
    {
        var (replica, viewId, cancel) = (offer.Replica, offer.ViewId, offer.Cancel.Token);
        var started = Stopwatch.GetTimestamp();
        long records = 0;
        try
        {
            if (offer.Snapshot is not { } snapshot)
            {
                transport.Send(to, StateTransferMessages.ShardStateUnavailable(replica.TypeId, replica.Shard, viewId, offer.Problem ?? "no state"));
                transport.Flush();
                return;
            }
            foreach (var batch in LogTail.Read(replica.Context.Log, after, offer.UpTo))
            {
                await WaitForRoomAsync(to, cancel).ConfigureAwait(false);
                transport.Send(to, StateTransferMessages.Encode(MessageKind.ShardStateTail,
                    new ShardStateTail(replica.TypeId, replica.Shard, viewId, batch.Complete, batch.Versions, batch.Ticks, batch.Payloads)));
                transport.Flush();
                records += batch.Versions.Length;
            }
            for (var (offset, parts) = (0, 0); offset < snapshot.Length; offset += PartBytes, parts++)
            {
                if (parts == StallAfterParts && parts > 0)
                {
                    logger.LogWarning("Member {Id} stalls sending shard {Shard} of {Type} to member {To} after {Parts} part(s) (test)", myId, replica.Shard, replica.Name, to, parts);
                    await Task.Delay(Timeout.Infinite, cancel).ConfigureAwait(false);
                }
                await WaitForRoomAsync(to, cancel).ConfigureAwait(false);
                var part = snapshot.AsSpan(offset, Math.Min(PartBytes, snapshot.Length - offset)).ToArray();
                transport.Send(to, StateTransferMessages.Encode(MessageKind.ShardStatePart, new ShardStatePart(replica.TypeId, replica.Shard, viewId, snapshot.Length, offset, part)));
                transport.Flush();
            }
            logger.LogInformation("Member {Id} sent shard {Shard} of {Type} to member {To}: {Records} log record(s) after version {After}, then {Bytes} bytes of state, in {Seconds:0.###}s",
                myId, replica.Shard, replica.Name, to, records, after, snapshot.Length, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        catch (OperationCanceledException)
        {
            logger.LogInformation("Member {Id} stopped sending shard {Shard} of {Type} to member {To}: view {View} ended", myId, replica.Shard, replica.Name, to, viewId);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException)
        {
            logger.LogWarning("Member {Id} cannot send shard {Shard} of {Type} to member {To}: {Reason}", myId, replica.Shard, replica.Name, to, e.Message);
        }
    }

    private async Task WaitForRoomAsync(int to, CancellationToken cancel)
    {
        while (transport.QueuedBytes(to) > MaxQueuedBytes) await Task.Delay(1, cancel).ConfigureAwait(false);
        cancel.ThrowIfCancellationRequested();
    }
}
