namespace Derecho.Hosting;

/// <summary>When <see cref="DerechoHealthCheck"/> calls a running member degraded.</summary>
public sealed class DerechoHealthCheckOptions
{
    /// <summary>
    /// How long a version this member logged may wait for its disk before the member is degraded (default
    /// 10 s). Group commit makes a version durable within milliseconds; a lag this long means a slow or full disk.
    /// </summary>
    public TimeSpan PersistenceLagTolerance { get; set; } = TimeSpan.FromSeconds(10);
}
