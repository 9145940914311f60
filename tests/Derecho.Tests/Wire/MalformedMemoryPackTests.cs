using Derecho.Rpc;
using Derecho.Wire;
using MemoryPack;

namespace Derecho.Tests.Wire;

/// <summary>
/// MemoryPack bodies the fuzzer found: on the old code a string length header of int.MinValue was read past
/// the buffer (an access violation that ended the test host), and a bad collection header threw exceptions the
/// dispatcher reported as a handler's failure instead of a malformed request.
/// </summary>
public sealed class MalformedMemoryPackTests
{
    private static readonly byte[] OverflowingStringHeader = [0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00];

    [Fact]
    public void A_string_argument_whose_length_header_overflows_is_a_malformed_request()
    {
        var reader = new ArgumentReader(OverflowingStringHeader);
        var refused = false;
        try
        {
            _ = reader.Read<string>();
        }
        catch (MemoryPackSerializationException)
        {
            refused = true;
        }
        Assert.True(refused);
    }

    /// <summary>
    /// A plain string member of a user's type is read by MemoryPack's generated code, past any formatter we register:
    /// MemoryPack 1.21.4 read the overflowing header past the buffer there; 1.22.0 refuses it.
    /// </summary>
    [Theory]
    [InlineData(int.MinValue)]
    [InlineData(int.MinValue + 1)]
    [InlineData(int.MinValue + 3)]
    public void A_string_member_of_a_user_type_whose_length_header_overflows_is_a_malformed_request(int header)
    {
        var bytes = MemoryPackSerializer.Serialize(new Labelled("hello", 5));
        BitConverter.GetBytes(header).CopyTo(bytes, 1); // after the member count
        var error = Record.Exception(() =>
        {
            var reader = new ArgumentReader(bytes);
            _ = reader.Read<Labelled>();
        });
        Assert.IsType<MemoryPackSerializationException>(error);
        Assert.Contains("negative size", error.Message);
    }

    [Fact]
    public void A_restart_rejoin_whose_reason_header_overflows_is_refused()
    {
        var message = RestartMessages.Encode(MessageKind.RestartRejoin, new RestartRejoin(6, [1], [10], "x"));
        // The reason is last: [~utf8 length][utf16 length]["x"].
        OverflowingStringHeader.AsSpan(0, 4).CopyTo(message.AsSpan(message.Length - 9));
        Assert.Null(RestartMessages.TryDecode<RestartRejoin>(message));
    }

    [Theory]
    [InlineData("FBFFFFFF")] // a list of -5 strings: List's constructor threw ArgumentOutOfRangeException
    [InlineData("00000000" + "02000000" + "00000000" + "0000000000000000" + "00000000" + "0000000000000000")] // no strings, then the key "" twice
    public void A_list_argument_with_a_bad_header_is_a_malformed_request(string hex)
    {
        var reader = new ArgumentReader(Convert.FromHexString(hex));
        var refused = false;
        try
        {
            _ = reader.Read<List<string>>();
            _ = reader.Read<Dictionary<string, long>>();
        }
        catch (MemoryPackSerializationException)
        {
            refused = true;
        }
        Assert.True(refused);
    }
}

/// <summary>A user's argument type with a plain string member.</summary>
[MemoryPackable]
public sealed partial record Labelled(string Name, int Count);
