using Derecho.Errors;
using Derecho.Multicast;
using Derecho.Tests.Support;

namespace Derecho.Tests.Multicast;

/// <summary>A raw send that cannot happen says why, as a DerechoException of the right kind.</summary>
public class SendFailureTests
{
    [Fact]
    public async Task Send_into_a_wedged_view_is_cut_off_by_the_view_change()
    {
        await using var group = await MulticastHarness.StartAsync(2, new MulticastOptions { RingBytes = 64 << 10, MaxPayloadBytes = 1024 });
        group.Members[0].Multicast.Wedge();
        var error = Assert.Throws<ViewChangedException>(() => group.Members[0].Multicast.Send(new byte[8]));
        Assert.Contains("wedged", error.Message);
    }

    [Fact]
    public async Task Send_after_the_member_stopped_names_the_member_and_the_reason()
    {
        await using var group = await MulticastHarness.StartAsync(2, new MulticastOptions { RingBytes = 64 << 10, MaxPayloadBytes = 1024 });
        group.Members[0].Multicast.Stop("test stop");
        var error = Assert.Throws<MemberStoppedException>(() => group.Members[0].Multicast.Send(new byte[8]));
        Assert.Equal(group.Members[0].Sst.MemberIds[group.Members[0].Sst.MyRank], error.MemberId);
        Assert.Contains("test stop", error.Reason);
    }
}
