namespace Derecho.Diagnostics;

/// <summary>
/// The tags that say where a measurement comes from: member, replicated type and shard. Boxed once when the
/// owner (a shard's multicast, a replica's log) is created, so recording allocates nothing.
/// </summary>
internal readonly struct MetricTags
{
    public const string MemberKey = "derecho.member.id";
    public const string TypeKey = "derecho.replicated_type";
    public const string ShardKey = "derecho.shard";

    public MetricTags(int member, string type, int shard)
    {
        Member = new(MemberKey, member);
        Type = new(TypeKey, type);
        Shard = new(ShardKey, shard);
    }

    public KeyValuePair<string, object?> Member { get; }

    public KeyValuePair<string, object?> Type { get; }

    public KeyValuePair<string, object?> Shard { get; }

    /// <summary>The member tag alone (for measurements that belong to a member, not to a shard).</summary>
    public static KeyValuePair<string, object?> ForMember(int member) => new(MemberKey, member);
}
