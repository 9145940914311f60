namespace Derecho.Errors;

/// <summary>
/// A failure of the replicated system: a member stopped, a peer or the network failed, a call timed out, a log
/// is corrupt, the configuration cannot work. Catch it to handle every failure Derecho reports; the subclass
/// says which kind. A caller's mistake (a bad argument, a type not in the layout) is an
/// <see cref="ArgumentException"/> or <see cref="InvalidOperationException"/> instead.
/// </summary>
public abstract class DerechoException(string message, Exception? inner = null) : Exception(message, inner);
