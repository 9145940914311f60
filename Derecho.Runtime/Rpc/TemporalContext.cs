namespace Derecho.Rpc;

/// <summary>
/// What a <c>[P2PCallable]</c> handler called with <c>.AtTime(t)</c> reads: while it runs, every versioned field
/// (<see cref="Persistence.Persistent{T}"/>, <see cref="Persistence.Volatile{T}"/>) answers <c>Current</c> with its
/// value at t, so the same handler serves current and temporal queries. Plain fields are not versioned and read
/// as they are now: a temporal handler should read versioned fields only.
/// </summary>
public static class TemporalContext
{
    [ThreadStatic] private static long t_readTicks;

    /// <summary>The time the running handler reads at, or null when it reads the current state.</summary>
    public static DateTime? ReadTime => t_readTicks == 0 ? null : new DateTime(t_readTicks, DateTimeKind.Utc);

    /// <summary>UTC ticks the running handler reads at; 0: now.</summary>
    internal static long ReadTicks => t_readTicks;

    internal static void Enter(long ticks) => t_readTicks = ticks;

    internal static void Exit() => t_readTicks = 0;
}
