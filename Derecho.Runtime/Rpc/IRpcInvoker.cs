namespace Derecho.Rpc;

/// <summary>What the typed handles call: a member's RPC engine, or an external client.</summary>
internal interface IRpcInvoker
{
    /// <summary>Members of the current view, in rank order.</summary>
    IReadOnlyList<int> MemberIds { get; }

    /// <summary>Multicasts an ordered call (header space reserved in <paramref name="request"/>) and returns every replica's reply.</summary>
    Task<QueryResults<T>> InvokeOrdered<T>(uint typeId, uint methodId, PooledBufferWriter request);

    /// <summary>Sends a P2P call to one member and returns its reply.</summary>
    Task<T> InvokeP2P<T>(int memberId, uint typeId, uint methodId, PooledBufferWriter request);
}
