using System.IO.Hashing;
using System.Text;
using Derecho.Layout;

namespace Derecho.Tests.Layout;

/// <summary>StableHash: the same value in every process and build (pinned), unlike string.GetHashCode and HashCode.</summary>
public sealed class StableHashTests
{
    [Fact]
    public void A_string_hashes_as_xxhash64_of_its_utf8_bytes()
    {
        var hash = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes("gruyère"));
        Assert.Equal(unchecked((int)(hash ^ (hash >> 32))), StableHash.Of("gruyère"));
        Assert.Equal(StableHash.Of(new string('x', 1000)), StableHash.Of(Encoding.UTF8.GetBytes(new string('x', 1000))));
    }

    [Fact]
    public void Hashes_are_pinned_so_every_process_and_version_agrees()
    {
        Assert.Equal((1281245613, 1794194435, -1131168149), (StableHash.Of("order-17"), StableHash.Combine("order-17", 3L), StableHash.Combine(1, 2, 3, 4, 5, 6)));
    }

    [Fact]
    public void Combine_depends_on_order_and_count_and_treats_null_as_zero()
    {
        Assert.NotEqual(StableHash.Combine(1, 2), StableHash.Combine(2, 1));
        Assert.NotEqual(StableHash.Combine(0), StableHash.Combine(0, 0));
        Assert.Equal(StableHash.Combine<string?, int>(null, 5), StableHash.Combine(0, 5));
    }
}
