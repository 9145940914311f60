namespace Derecho.Rpc;

/// <summary>
/// One notification an <c>[Ordered]</c> handler emitted with <see cref="OrderedContext.Notify{T}(string, T)"/>, as a
/// subscriber receives it. (<see cref="Version"/>, <see cref="Index"/>) is its place in the shard's total order: the
/// version of the call that emitted it and its rank among that call's notifications; the same at every replica.
/// </summary>
/// <param name="Shard">The shard whose call emitted it.</param>
/// <param name="Version">The emitting call's version (<see cref="DeliveryInfo.Version"/>).</param>
/// <param name="Index">Its rank among the notifications of that call (0, 1, …).</param>
/// <param name="Timestamp">The call's agreed UTC time (<see cref="DeliveryInfo.Timestamp"/>).</param>
/// <param name="Topic">The topic the handler gave.</param>
/// <param name="Value">The payload, deserialized with MemoryPack.</param>
public readonly record struct Notification<T>(int Shard, long Version, int Index, DateTime Timestamp, string Topic, T Value);

/// <summary>Where a shard's notifications are recorded while a call is delivered (a replica that holds the shard's state).</summary>
internal interface INotificationSink
{
    /// <summary>Records one notification of <paramref name="delivery"/>, its <paramref name="index"/>-th (protocol thread).</summary>
    void Record(in DeliveryInfo delivery, int index, string topic, ReadOnlySpan<byte> payload);

    /// <summary>The handler ended: what it recorded goes to subscribers (<paramref name="applied"/>) or is dropped (it threw).</summary>
    void Complete(bool applied);
}
