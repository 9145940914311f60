namespace Derecho.Internal;

/// <summary>
/// Wakes one waiting thread: many rings between two waits collapse into one wake-up, which is what
/// lets a busy receiver handle a whole batch per wake. SemaphoreSlim spins briefly before it blocks,
/// so a hot loop stays hot but an idle one sleeps instead of burning a core.
/// </summary>
internal sealed class Doorbell : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0);
    private int _rung;

    public void Ring()
    {
        if (Interlocked.Exchange(ref _rung, 1) != 0) return;
        // A late ring (a log flushed while the member closes) has nobody left to wake.
        try { _signal.Release(); }
        catch (ObjectDisposedException) { }
    }

    /// <summary>Waits until rung or the timeout passes; returns whether it was rung.</summary>
    public bool Wait(int timeoutMs)
    {
        var rung = _signal.Wait(timeoutMs);
        Volatile.Write(ref _rung, 0);
        return rung;
    }

    public void Dispose()
    {
        Volatile.Write(ref _rung, 1); // rings from now on do nothing
        _signal.Dispose();
    }
}
