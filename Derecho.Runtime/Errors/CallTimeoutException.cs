namespace Derecho.Errors;

/// <summary>A call got no reply within its time limit; it may or may not have been applied.</summary>
public sealed class CallTimeoutException(string message) : DerechoException(message);
