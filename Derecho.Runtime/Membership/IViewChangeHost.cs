namespace Derecho.Membership;

/// <summary>What the view-change protocol asks of the member running it.</summary>
internal interface IViewChangeHost
{
    /// <summary>Sets up (registers with the transport) the view a proposal describes, before acknowledging it.</summary>
    ActiveView Prepare(View next, long proposalId);

    /// <summary>Makes a committed, prepared view current; <paramref name="trim"/> is the ragged trim that ended the old one.</summary>
    void Install(ActiveView next, long[] trim);

    /// <summary>This member cannot go on (excluded, or cut off from a majority); stop with the reason.</summary>
    void Fail(string reason);
}
