using System.Text;
using Derecho.Persistence;

namespace Derecho.Tests.Persistence;

/// <summary>The log's checksum is the standard CRC-32C: logs written by any version of the code stay readable.</summary>
public sealed class Crc32CTests
{
    [Fact]
    public void The_check_value_of_the_standard_is_met() =>
        Assert.Equal(0xE3069283u, ~Crc32C.Append(uint.MaxValue, Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void Any_split_of_the_input_gives_the_same_checksum_as_one_pass()
    {
        // Lengths around the 8- and 32-byte steps, split at every point: a streaming CRC must not depend on how it is fed.
        var random = new Random(5);
        foreach (var length in new[] { 0, 1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 1000 })
        {
            var data = new byte[length];
            random.NextBytes(data);
            var whole = Crc32C.Append(uint.MaxValue, data);
            Assert.Equal(Bytewise(data), whole);
            for (var split = 0; split <= length; split++)
                Assert.Equal(whole, Crc32C.Append(Crc32C.Append(uint.MaxValue, data.AsSpan(0, split)), data.AsSpan(split)));
        }
    }

    /// <summary>The definition, one byte at a time (reflected polynomial 0x82F63B78).</summary>
    private static uint Bytewise(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return crc;
    }
}
