namespace Derecho.Membership;

/// <summary>What the view-change protocol asks of the member running it.</summary>
internal interface IViewChangeHost
{
    /// <summary>
    /// Sets up (connects joiners, registers with the transport) the view a proposal describes, before
    /// acknowledging it; reuses <paramref name="previous"/> when it has the same members. The leader also
    /// sends the proposal to the joiners.
    /// </summary>
    ActiveView Prepare(View next, long proposalId, IReadOnlyList<(int Id, long Endpoint)> joiners, ActiveView? previous, bool isLeader);

    /// <summary>
    /// Persists a ragged trim of view <paramref name="viewId"/> before this member publishes or echoes it, so a
    /// restart knows what the group may have delivered.
    /// </summary>
    void LogTrim(long viewId, long[] trim);

    /// <summary>Whether every version the ragged trim's deliveries created here is on disk (the view change finishes only then).</summary>
    bool TrimDeliveriesPersisted();

    /// <summary>Whether joiner <paramref name="id"/> has acknowledged (prepared for) the proposal.</summary>
    bool JoinerAcknowledged(int id, long proposalId);

    /// <summary>The view change dropped joiner <paramref name="id"/> (no acknowledgement in time): stop forwarding its request.</summary>
    void ForgetJoiner(int id);

    /// <summary>
    /// Makes a committed, prepared view current; <paramref name="trim"/> is the ragged trim that ended the old
    /// one. The committing leader passes the joiners, who get the replicas' state from it.
    /// </summary>
    void Install(ActiveView next, long[] trim, IReadOnlyList<(int Id, long Endpoint)> sendStateTo);

    /// <summary>This member cannot go on (excluded, or cut off from a majority); stop with the reason.</summary>
    void Fail(string reason);
}
