using Derecho.Errors;
using Microsoft.Extensions.Logging;

namespace Derecho.Membership;

/// <summary>
/// How this member's run ends: it fails (excluded by the others, cut off from a majority, or a protocol
/// failure), or it leaves alone by a view change it asked for. Either way <see cref="Stopping"/> is raised
/// once so that everything still running calls stops, with the reason.
/// </summary>
internal sealed class MemberLifetime(int myId, ILogger logger)
{
    private readonly TaskCompletionSource<MemberStoppedException> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _leftAlone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _leavingAlone;

    /// <summary>Raised on the failing thread: the reason to stop the view with, and what pending calls fail with.</summary>
    public event Action<string, Exception>? Stopping;

    /// <summary>Completes with why, once this member failed.</summary>
    public Task<MemberStoppedException> Failed => _failed.Task;

    /// <summary>Completes once the view change that removes this member (asked for by <see cref="BeginLeavingAlone"/>) happened.</summary>
    public Task LeftAlone => _leftAlone.Task;

    public bool HasFailed => _failed.Task.IsCompleted;

    /// <summary>From now on, being removed from the view is what this member asked for, not a failure.</summary>
    public void BeginLeavingAlone() => _leavingAlone = true;

    public void Fail(string reason)
    {
        if (_leavingAlone)
        {
            logger.LogInformation("Member {Id} left the group: {Reason}", myId, reason);
            Stopping?.Invoke("this member left the group", new MemberStoppedException(myId, "it left the group"));
            _leftAlone.TrySetResult();
            return;
        }
        var stopped = new MemberStoppedException(myId, reason);
        if (!_failed.TrySetResult(stopped)) return;
        logger.LogError("Member {Id} stops: {Reason}", myId, reason);
        Stopping?.Invoke(reason, stopped);
    }
}
