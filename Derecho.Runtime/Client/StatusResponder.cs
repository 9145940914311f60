using Derecho.Wire;

namespace Derecho.Client;

/// <summary>
/// A member's answers to status requests (<see cref="MessageKind.StatusRequest"/>) from clients and members: its
/// status as the source reads it at that moment. A request that names its request id but is otherwise malformed
/// is refused with the reason; one too short to name it is dropped (nobody to answer).
/// </summary>
internal sealed class StatusResponder(int myId, Func<StatusAnswer> source)
{
    /// <summary>The reply to send, or null (and why in <paramref name="dropped"/>) when there is nobody to answer.</summary>
    public byte[]? Answer(ReadOnlySpan<byte> message, out string? dropped)
    {
        dropped = null;
        if (!StatusMessages.TryReadRequest(message, out var request, out var problem))
        {
            if (message.Length >= StatusMessages.RequestSize) return StatusMessages.Refusal(myId, request, $"malformed status request: {problem}");
            dropped = problem;
            return null;
        }
        try
        {
            return StatusMessages.Reply(request, source());
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or ArgumentException)
        {
            return StatusMessages.Refusal(myId, request, $"could not read its status: {e.Message}");
        }
    }
}
