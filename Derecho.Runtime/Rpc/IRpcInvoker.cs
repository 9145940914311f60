using Derecho.Wire;

namespace Derecho.Rpc;

/// <summary>What the typed handles call: a member's RPC engine, or an external client.</summary>
internal interface IRpcInvoker
{
    /// <summary>Members of the current view, in rank order.</summary>
    IReadOnlyList<int> MemberIds { get; }

    /// <summary>The current view's layout: which members hold which shard of which type.</summary>
    Layout.GroupLayout Layout { get; }

    /// <summary>Header bytes an ordered call's request reserves in front of its arguments (a client's relay header in its session is longer).</summary>
    int OrderedHeaderSize { get; }

    /// <summary>Multicasts an ordered call into a shard (header space reserved in <paramref name="request"/>) and returns every replica's reply.</summary>
    Task<QueryResults<T>> InvokeOrdered<T>(uint typeId, int shard, uint methodId, PooledBufferWriter request);

    /// <summary>
    /// Sends a P2P call to one member's replica of a shard (-1: the first shard of the type it holds) and returns its
    /// reply; <paramref name="readAt"/> says whether it reads the current state or the state at a time.
    /// </summary>
    Task<T> InvokeP2P<T>(int memberId, uint typeId, int shard, uint methodId, PooledBufferWriter request, ReadTime readAt);

    /// <summary>
    /// Sends a trigger event (header space of <see cref="Wire.TriggerMessages.EventHeaderSize"/> reserved in <paramref name="request"/>)
    /// to one member of a shard; completes when that member accepted it, faults with a <see cref="Errors.TriggerNotAcceptedException"/> when not.
    /// </summary>
    Task InvokeTrigger(uint typeId, int shard, uint methodId, PooledBufferWriter request);

    /// <summary>The notifications of a shard after a version (-1: from the oldest a member retains), then the live ones.</summary>
    IAsyncEnumerable<Notification<T>> Subscribe<T>(uint typeId, int shard, string? topic, long afterVersion, CancellationToken cancellationToken);
}
