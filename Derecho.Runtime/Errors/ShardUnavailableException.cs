namespace Derecho.Errors;

/// <summary>
/// No member can take a call to the shard in the current view: the shard has no members, or the member
/// asked is not one of them. The call was not applied; it may succeed once a view repopulates the shard.
/// </summary>
public sealed class ShardUnavailableException(string message) : DerechoException(message);
