namespace Derecho.Errors;

/// <summary>
/// A trigger call's event was not accepted by the member it was sent to: the member died or was unreachable
/// before acknowledging it, refused it (the caller is not authorized for the type, the member holds no replica
/// of the shard, its trigger queue is full), the batch holding it got no acknowledgement in time, or the
/// sender's own trigger window was full. The message says which. An event that was sent but not acknowledged
/// may or may not have been handled.
/// </summary>
public sealed class TriggerNotAcceptedException(string message, Exception? inner = null) : DerechoException(message, inner);
