namespace Derecho.Replication;

/// <summary>
/// Whom a member asked for one shard's state in one view, and, once the first log records or part of it are
/// in, the one member whose copy it takes. State transfer traffic from anyone else is dropped as it arrives:
/// it is neither queued nor applied. Checked on the transport threads, so the choice is one atomic swap.
/// </summary>
internal sealed class ExpectedStateSender(long viewId, int[] asked)
{
    private const int Nobody = -1;
    private int _sending = Nobody;

    /// <summary>The view the state was asked for.</summary>
    public long ViewId => viewId;

    /// <summary>
    /// Null if a message of view <paramref name="messageView"/> from <paramref name="from"/> may be taken (a tail
    /// or part, <paramref name="carriesState"/>, makes its sender the one whose copy is taken); else why not.
    /// </summary>
    public string? Refuse(int from, long messageView, bool carriesState)
    {
        if (messageView != viewId) return $"it was asked for in view {viewId}";
        if (Array.IndexOf(asked, from) < 0) return $"it was asked of member(s) {string.Join(", ", asked)}";
        var sending = carriesState ? Interlocked.CompareExchange(ref _sending, from, Nobody) : Volatile.Read(ref _sending);
        return sending == Nobody || sending == from ? null : $"it is arriving from member {sending}";
    }
}
