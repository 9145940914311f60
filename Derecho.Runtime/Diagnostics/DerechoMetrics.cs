using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Derecho.Diagnostics;

/// <summary>
/// The meter "Derecho" and every instrument it has (docs/observability.md lists them). Recording sites call
/// the helpers below once per batch, view change or fsync, never per message; each helper checks
/// <see cref="Instrument.Enabled"/> first, so with no listener a hook costs a field read.
/// </summary>
internal static class DerechoMetrics
{
    public const string MeterName = "Derecho";

    private static readonly Meter Meter = new(MeterName, typeof(DerechoMetrics).Assembly.GetName().Version?.ToString(3));

    // Seconds from 100 µs (a loopback call) to 10 s (a view change waiting out a failure timeout).
    private static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    };

    // Powers of 4 up to about a ring's worth of small messages.
    private static readonly InstrumentAdvice<long> Counts = new() { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536] };

    public static readonly Counter<long> Delivered = Meter.CreateCounter<long>("derecho.multicast.delivered", "{message}",
        "Application messages delivered in total order (ordered calls at a replica).");

    public static readonly Counter<long> DeliveredBytes = Meter.CreateCounter<long>("derecho.multicast.delivered.bytes", "By",
        "Payload bytes of the delivered messages.");

    public static readonly Histogram<long> BatchSize = Meter.CreateHistogram("derecho.multicast.batch.size", "{message}",
        "Messages delivered by one delivery step (receiver-side batching).", advice: Counts);

    public static readonly Histogram<double> CallDuration = Meter.CreateHistogram("derecho.call.duration", "s",
        "From a call's start at the caller until its replies are in (or a view change ends it).", advice: Seconds);

    public static readonly Counter<long> Relays = Meter.CreateCounter<long>("derecho.relay.count", "{call}",
        "Ordered calls this member multicast on behalf of a client or of a member outside the shard.");

    public static readonly Counter<long> ViewChanges = Meter.CreateCounter<long>("derecho.view.changes", "{view}",
        "Views installed after a view change (the first view of a process is not counted).");

    public static readonly Histogram<double> ViewChangeDuration = Meter.CreateHistogram("derecho.view.change.duration", "s",
        "From wedging the old view to installing the new one.", advice: Seconds);

    public static readonly Counter<long> Suspicions = Meter.CreateCounter<long>("derecho.suspicions", "{suspicion}",
        "Members this member began to suspect (heartbeat timeout, broken connection, a peer's suspicion, a leave).");

    public static readonly Histogram<double> FsyncDuration = Meter.CreateHistogram("derecho.log.fsync.duration", "s",
        "One group commit of a log: writing the gathered records and fsyncing their segments.", advice: Seconds);

    public static readonly Histogram<long> FsyncBatch = Meter.CreateHistogram("derecho.log.fsync.batch", "{record}",
        "Log records made durable by one group commit.", advice: Counts);

    public static readonly UpDownCounter<long> ClientConnections = Meter.CreateUpDownCounter<long>("derecho.client.connections", "{connection}",
        "External clients this member serves now.");

    public static readonly Counter<long> TriggerEvents = Meter.CreateCounter<long>("derecho.trigger.events", "{event}",
        "Trigger events at the member they were sent to, by outcome (derecho.trigger.outcome): received (accepted into its queue), " +
        "refused (batch refused: unauthorized, overloaded, no such replica), handled, failed (the handler threw, an unknown method, malformed arguments).");

    public static readonly Counter<long> TriggerBatches = Meter.CreateCounter<long>("derecho.trigger.batches", "{batch}",
        "Trigger batches (frames) a member received, accepted or refused.");

    public static readonly KeyValuePair<string, object?> TriggerReceived = new("derecho.trigger.outcome", "received");
    public static readonly KeyValuePair<string, object?> TriggerRefused = new("derecho.trigger.outcome", "refused");
    public static readonly KeyValuePair<string, object?> TriggerHandled = new("derecho.trigger.outcome", "handled");
    public static readonly KeyValuePair<string, object?> TriggerFailed = new("derecho.trigger.outcome", "failed");

    public static readonly Counter<long> NotificationsEmitted = Meter.CreateCounter<long>("derecho.notification.emitted", "{notification}",
        "Notifications recorded by this member's replicas (OrderedContext.Notify in delivered ordered calls).");

    public static readonly Counter<long> NotificationsSent = Meter.CreateCounter<long>("derecho.notification.sent", "{notification}",
        "Notifications this member sent to subscribers (retained ones replayed and live ones).");

    public static readonly UpDownCounter<long> Subscriptions = Meter.CreateUpDownCounter<long>("derecho.notification.subscriptions", "{subscription}",
        "Notification subscriptions this member serves now.");

    public static readonly Counter<long> SubscriptionCutOffs = Meter.CreateCounter<long>("derecho.notification.cutoffs", "{subscription}",
        "Subscriptions this member ended because the subscriber fell too far behind (MaxNotificationLag, or past the retention).");

    public static readonly Histogram<double> ClientCallDuration = Meter.CreateHistogram("derecho.client.call.duration", "s",
        "At an external client (DerechoClient): from a call's start until its reply is in or it fails (error.type says why), by call kind (ordered, p2p).", advice: Seconds);

    public static readonly Counter<long> ClientResends = Meter.CreateCounter<long>("derecho.client.resends", "{call}",
        "Ordered calls of an external client's session sent again through another member (the first lost, stopped or could not relay it).");

    public static readonly Counter<long> ClientFailovers = Meter.CreateCounter<long>("derecho.client.failovers", "{failover}",
        "Times an external client moved its contact to another member after losing it.");

    /// <summary>Every live ring: what fraction of it holds messages not yet delivered everywhere.</summary>
    public static readonly Observations<double> Rings = new();

    /// <summary>Every running member's shards: delivered, persisted and globally persisted versions.</summary>
    public static readonly Observations<long> ShardVersions = new();

    public static readonly ObservableGauge<double> RingOccupancy = Meter.CreateObservableGauge("derecho.ring.occupancy", Rings.Collect, "1",
        "Fraction of this member's send ring in use (0 to 1); near 1, senders wait for the slowest receiver.");

    public static readonly ObservableGauge<long> ShardVersion = Meter.CreateObservableGauge("derecho.shard.version", ShardVersions.Collect, "{version}",
        "Newest version of a shard here: delivered, persisted (on this member's disk) or globally persisted (on every member's).");

    public static readonly KeyValuePair<string, object?> OrderedCall = new("derecho.call.kind", "ordered");
    public static readonly KeyValuePair<string, object?> P2PCall = new("derecho.call.kind", "p2p");
    public static readonly KeyValuePair<string, object?> RelayedCall = new("derecho.call.kind", "relayed");
    public static readonly KeyValuePair<string, object?> DeliveredVersion = new("derecho.version.kind", "delivered");
    public static readonly KeyValuePair<string, object?> PersistedVersion = new("derecho.version.kind", "persisted");
    public static readonly KeyValuePair<string, object?> GloballyPersistedVersion = new("derecho.version.kind", "globally_persisted");

    /// <summary>One delivery step of a shard delivered <paramref name="messages"/> of <paramref name="bytes"/> in all.</summary>
    public static void RecordDelivery(in MetricTags tags, long messages, long bytes)
    {
        if (Delivered.Enabled) Delivered.Add(messages, tags.Member, tags.Type, tags.Shard);
        if (DeliveredBytes.Enabled) DeliveredBytes.Add(bytes, tags.Member, tags.Type, tags.Shard);
        if (BatchSize.Enabled) BatchSize.Record(messages, tags.Member, tags.Type, tags.Shard);
    }

    /// <summary>A timestamp to measure from, or 0 when nobody listens to <paramref name="histogram"/> (then nothing is recorded).</summary>
    public static long StartTiming(Histogram<double> histogram) => histogram.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Records the seconds since <paramref name="started"/> (from <see cref="StartTiming"/>) unless it is 0.</summary>
    public static void RecordElapsed(Histogram<double> histogram, long started, KeyValuePair<string, object?> tag1, KeyValuePair<string, object?> tag2,
        KeyValuePair<string, object?> tag3 = default)
    {
        if (started == 0 || !histogram.Enabled) return;
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (tag3.Key is null) histogram.Record(seconds, tag1, tag2);
        else histogram.Record(seconds, tag1, tag2, tag3);
    }

    /// <summary>One group commit of a log made <paramref name="records"/> durable.</summary>
    public static void RecordFsync(in MetricTags tags, long started, int records)
    {
        RecordElapsed(FsyncDuration, started, tags.Member, tags.Type);
        if (FsyncBatch.Enabled) FsyncBatch.Record(records, tags.Member, tags.Type);
    }
}
