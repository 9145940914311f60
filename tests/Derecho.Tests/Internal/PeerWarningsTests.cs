using Derecho.Internal;
using Derecho.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Internal;

public sealed class PeerWarningsTests
{
    [Fact]
    public void Each_peer_is_warned_about_once_per_connection_and_what_was_suppressed_is_summed_up()
    {
        var log = new CapturingLoggerProvider();
        var clock = new ManualClock();
        var warnings = new PeerWarnings("Member 0", log.CreateLogger("test"), clock, TimeSpan.FromSeconds(10));

        Assert.True(warnings.ShouldLog(5));
        Assert.True(warnings.ShouldLog(6)); // another peer has its own first warning
        for (var i = 0; i < 47; i++) Assert.False(warnings.ShouldLog(5));
        Assert.Empty(log.Entries);

        clock.Advance(TimeSpan.FromSeconds(11)); // at most one summary per interval, on the next suppressed warning
        Assert.False(warnings.ShouldLog(5));
        Assert.False(warnings.ShouldLog(5));
        Assert.Contains("Member 0: 48 more warning(s) about messages from peer 5 suppressed so far", Assert.Single(log.Entries).Message, StringComparison.Ordinal);

        warnings.Forget(5); // it disconnects: the rest is summed up, and its next connection is warned about again
        Assert.Contains("1 more warning(s) about messages from peer 5 suppressed before it disconnected", log.Entries.Last().Message, StringComparison.Ordinal);
        warnings.Forget(6);
        Assert.Equal(2, log.Entries.Count); // nothing was suppressed for peer 6
        Assert.True(warnings.ShouldLog(5));
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
