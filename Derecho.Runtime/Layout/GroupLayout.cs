using System.Buffers.Binary;

namespace Derecho.Layout;

/// <summary>Where one subgroup's shards run: member ids per shard, in view-rank order.</summary>
public sealed record SubgroupLayout(uint TypeId, string Name, int[][] Shards)
{
    /// <summary>The shards holding <paramref name="memberId"/>.</summary>
    public IEnumerable<int> ShardsOf(int memberId)
    {
        for (var s = 0; s < Shards.Length; s++)
            if (Array.IndexOf(Shards[s], memberId) >= 0) yield return s;
    }
}

/// <summary>
/// A view's layout: every subgroup's shards and their members, computed by every member from the view
/// alone (and the last adequate layout), so all agree without asking. Shards are also numbered globally,
/// in subgroup order: that number picks the shard's SST columns and multicast rings.
/// </summary>
public sealed record GroupLayout(IReadOnlyList<SubgroupLayout> Subgroups, string? Inadequate = null)
{
    /// <summary>Whether every shard has its minimum of members (only then does anything run).</summary>
    public bool IsAdequate => Inadequate is null;

    /// <summary>Number of shards over all subgroups.</summary>
    public int ShardCount => Subgroups.Sum(s => s.Shards.Length);

    /// <summary>Every shard in global order: (subgroup index, shard index, members).</summary>
    public IEnumerable<(int Subgroup, int Shard, int[] Members)> AllShards()
    {
        for (var g = 0; g < Subgroups.Count; g++)
            for (var s = 0; s < Subgroups[g].Shards.Length; s++)
                yield return (g, s, Subgroups[g].Shards[s]);
    }

    /// <summary>Global number of shard <paramref name="shard"/> of subgroup <paramref name="subgroup"/>.</summary>
    internal int GlobalIndex(int subgroup, int shard)
    {
        var index = 0;
        for (var g = 0; g < subgroup; g++) index += Subgroups[g].Shards.Length;
        return index + shard;
    }

    /// <summary>The subgroup of a replicated type, or null.</summary>
    public SubgroupLayout? Find(uint typeId)
    {
        foreach (var subgroup in Subgroups)
            if (subgroup.TypeId == typeId) return subgroup;
        return null;
    }

    /// <summary>The first shard of <paramref name="typeId"/> that <paramref name="memberId"/> holds, or -1.</summary>
    public int ShardOfMember(uint typeId, int memberId)
    {
        var subgroup = Find(typeId);
        if (subgroup is null) return -1;
        for (var s = 0; s < subgroup.Shards.Length; s++)
            if (Array.IndexOf(subgroup.Shards[s], memberId) >= 0) return s;
        return -1;
    }

    /// <summary>Members of a shard, or a clear error for an unknown type or shard index.</summary>
    public int[] MembersOf(uint typeId, int shard)
    {
        var subgroup = Find(typeId) ?? throw new ArgumentException($"replicated type {typeId:X8} is not in this group's layout");
        if ((uint)shard >= (uint)subgroup.Shards.Length)
            throw new ArgumentOutOfRangeException(nameof(shard), $"{subgroup.Name} has {subgroup.Shards.Length} shard(s); there is no shard {shard}");
        return subgroup.Shards[shard];
    }

    /// <summary>Encodes the layout for a joiner or a client: [inadequate u8][count i32] then per subgroup [type u32][shards i32] then per shard [n i32][ids i32…].</summary>
    internal byte[] Serialize()
    {
        var size = 5 + Subgroups.Sum(s => 8 + s.Shards.Sum(m => 4 + 4 * m.Length));
        var bytes = new byte[size];
        bytes[0] = IsAdequate ? (byte)0 : (byte)1;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(1), Subgroups.Count);
        var at = 5;
        foreach (var subgroup in Subgroups)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), subgroup.TypeId);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at + 4), subgroup.Shards.Length);
            at += 8;
            foreach (var members in subgroup.Shards)
            {
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), members.Length);
                at += 4;
                foreach (var id in members)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), id);
                    at += 4;
                }
            }
        }
        return bytes;
    }

    /// <summary>Decodes <see cref="Serialize"/>; names come from <paramref name="nameOf"/>. Null if the bytes are malformed.</summary>
    internal static GroupLayout? TryDeserialize(ReadOnlySpan<byte> bytes, Func<uint, string> nameOf)
    {
        if (bytes.Length < 5) return null;
        var inadequate = bytes[0] != 0;
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[1..]);
        if (count is < 0 or > 1024) return null;
        var at = 5;
        var subgroups = new List<SubgroupLayout>(count);
        for (var g = 0; g < count; g++)
        {
            if (bytes.Length < at + 8) return null;
            var typeId = BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]);
            var shardCount = BinaryPrimitives.ReadInt32LittleEndian(bytes[(at + 4)..]);
            at += 8;
            if (shardCount is < 0 or > 250) return null;
            var shards = new int[shardCount][];
            for (var s = 0; s < shardCount; s++)
            {
                if (bytes.Length < at + 4) return null;
                var n = BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]);
                at += 4;
                if (n < 0 || bytes.Length < at + 4L * n) return null;
                shards[s] = new int[n];
                for (var i = 0; i < n; i++, at += 4) shards[s][i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]);
            }
            subgroups.Add(new SubgroupLayout(typeId, nameOf(typeId), shards));
        }
        return at == bytes.Length ? new GroupLayout(subgroups, inadequate ? "inadequate" : null) : null;
    }
}
