namespace Derecho.Errors;

/// <summary>The configuration is unusable; the message names the setting and the problem.</summary>
public sealed class DerechoConfigurationException(string message) : DerechoException(message);
