using Derecho.Errors;

namespace Derecho.Transport;

/// <summary>A connection could not be made or a peer broke the protocol; the message names the member.</summary>
public sealed class TransportException(string message, Exception? inner = null) : DerechoException(message, inner);
