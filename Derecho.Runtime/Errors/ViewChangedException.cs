namespace Derecho.Errors;

/// <summary>A view change cut the operation off before it took effect; it can be retried in the new view.</summary>
public sealed class ViewChangedException(string message) : DerechoException(message);
