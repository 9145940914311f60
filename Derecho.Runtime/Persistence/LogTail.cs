using Derecho.Rpc;

namespace Derecho.Persistence;

/// <summary>
/// Records of a log that another replica lacks, as sent in one message (about 4 MB). <see cref="Complete"/>
/// (first batch): the holder's log has every record after the requested version; when false the receiver
/// drops its own history and takes the holder's whole log (the holder trimmed the requester's last record).
/// </summary>
internal sealed record LogTailBatch(bool Complete, long[] Versions, long[] Ticks, byte[][] Payloads);

/// <summary>
/// Log tails between replicas of a shard, read at the holder and applied at the replica behind it: shared by
/// total restart (a member behind the longest log) and state transfer (a member new to a shard, whose own
/// older log is kept and extended rather than dropped).
/// </summary>
internal static class LogTail
{
    public const int BatchBytes = 4 << 20;

    /// <summary>
    /// The records of <paramref name="log"/> after <paramref name="after"/> and up to <paramref name="upTo"/>, in
    /// batches. At least one batch, so the receiver always learns whether the tail is complete.
    /// </summary>
    public static IEnumerable<LogTailBatch> Read(ReplicaLog? log, long after, long upTo = long.MaxValue)
    {
        // The requester's newest record is here: everything after it is too (a log has no holes). If not
        // (trimmed here, or a requester ahead of what we send), it replaces its history with ours.
        var complete = log is null || after < 0 || (after <= upTo && log.Contains(after));
        var records = log is null ? [] : log.ReadAfter(complete ? after : long.MinValue);
        var versions = new List<long>();
        var ticks = new List<long>();
        var payloads = new List<byte[]>();
        var bytes = 0;
        var first = true;
        LogTailBatch Take()
        {
            var batch = new LogTailBatch(first ? complete : true, versions.ToArray(), ticks.ToArray(), payloads.ToArray());
            first = false;
            versions.Clear();
            ticks.Clear();
            payloads.Clear();
            bytes = 0;
            return batch;
        }
        foreach (var (version, time, payload) in records)
        {
            if (version > upTo) break;
            versions.Add(version);
            ticks.Add(time);
            payloads.Add(payload);
            bytes += payload.Length + 32;
            if (bytes >= BatchBytes) yield return Take();
        }
        if (first || versions.Count > 0) yield return Take();
    }
}
