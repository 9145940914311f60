namespace Derecho.Wire;

/// <summary>When a P2P call reads the replica: now (the default), or at a past UTC time in ticks.</summary>
/// <param name="Ticks">UTC ticks of the time read at; 0 reads the current state.</param>
/// <param name="FailFast">At a time the shard's frontier has not passed: fail at once instead of waiting.</param>
internal readonly record struct ReadTime(long Ticks, bool FailFast)
{
    public bool IsNow => Ticks == 0;
}
