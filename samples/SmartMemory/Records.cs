using MemoryPack;

namespace Derecho.Samples.SmartMemory;

/// <summary>
/// One reading of one sensor. <see cref="InjectedFault"/> is the fleet's ground truth, carried only so the demo
/// can score the detector's precision and recall: the model never sees it.
/// </summary>
[MemoryPackable]
public readonly partial record struct SensorReading(int Sensor, long Sequence, long SentTicks, float Current, float Temperature, float Vibration, float Acoustic, bool InjectedFault)
{
    /// <summary>A key unique in the fleet: sensor and sequence.</summary>
    public long Key => ((long)Sensor << 40) | Sequence;
}

/// <summary>An event the shard kept: the reading, its score, and the number of the model that judged it.</summary>
[MemoryPackable]
public sealed partial record KeptEvent(SensorReading Reading, float Score, int ModelNumber, bool Alert);

/// <summary>The notification an urgent event raises: what an operator sees.</summary>
[MemoryPackable]
public sealed partial record Alert(int Shard, int Sensor, long Sequence, long SentTicks, float Score, int ModelNumber);

/// <summary>A model version: ML.NET's serialized parameters and the thresholds learned with them; numbered by the shard.</summary>
[MemoryPackable]
public sealed partial record ModelSnapshot(int Number, long TrainedOnReadings, float KeepThreshold, float AlertThreshold, byte[] Parameters);

/// <summary>What a shard has judged: events scored by a model, dropped as normal, kept, alerted; unjudged ones came before any model.</summary>
[MemoryPackable]
public readonly partial record struct ShardCounts(long Judged, long Dropped, long Kept, long Alerts, long Unjudged);

/// <summary>A shard as of one time: counts, the model in force, the events kept in the window before it, and a digest of them.</summary>
[MemoryPackable]
public sealed partial record ShardSummary(int Shard, long AtTicks, ShardCounts Counts, int ModelNumber, int WindowEvents, int WindowAlerts, ulong WindowDigest);
