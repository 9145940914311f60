using System.Net;
using System.Net.Sockets;
using Derecho.Hosting;
using Derecho.Layout;
using Derecho.Replication;
using Derecho.Tests.Support;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Hosting;

/// <summary>
/// A joiner takes a shard's state only from the member whose copy is arriving, among those it asked: parts
/// forged by a stranger or by another old member are dropped on arrival (one warning each) and never applied.
/// </summary>
public sealed class ForgedStateTests
{
    private static void Blobs(LayoutBuilder l) => l.Subgroup(_ => new Blob());

    private static uint TypeIdOf<T>() where T : Derecho.Rpc.IReplicatedType => T.ReplicatedTypeId;

    [Fact]
    public async Task Forged_state_from_a_stranger_or_another_old_member_is_dropped_and_the_real_state_arrives()
    {
        var logs = new CapturingLoggerProvider();
        var joinerPort = 0;
        void Quick(DerechoOptions o) => o.FailureTimeout = TimeSpan.FromSeconds(1);
        void Joiner(DerechoOptions o)
        {
            Quick(o);
            joinerPort = IPEndPoint.Parse(o.Members[^1].Endpoint).Port;
        }
        var group = await InProcessGroup.StartAsync(3, logs, Blobs, Quick);
        DerechoGroup? joiner = null;
        try
        {
            for (var seed = 1; seed <= 2; seed++) await group.Members[0].Subgroup<Blob>().Ordered.Grow(10, seed); // five parts
            group.Members[0].StallShardStatesAfterPartsForTest = 2; // member 0, the first holder, owes it and stalls
            var joining = group.JoinNewMemberAsync(3, logs, Blobs, Joiner);
            await Eventually.True(() => logs.Contains(LogLevel.Warning, "Member 0 stalls sending shard 0 of"), "member 0 to send part of the state");
            await Task.Delay(200); // the parts sent arrive
            var viewId = group.Members[1].View.Id;

            // The next part of the state, forged: 48 times by a stranger, once by member 1 (an old member that is not sending).
            var forged = StateTransferMessages.Encode(MessageKind.ShardStatePart,
                new ShardStatePart(TypeIdOf<Blob>(), 0, viewId, 20L << 20, 8L << 20, new byte[1024]));
            var options = InProcessGroup.Options(0, group.Ports);
            using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await stranger.ConnectAsync(IPAddress.Loopback, joinerPort);
            await stranger.SendAsync(RawFrames.HelloFrom(4242, GroupFingerprint.Of(options.GroupName, options.RingBytes, options.MaxPayloadBytes)));
            for (var i = 0; i < 48; i++) await stranger.SendAsync(RawFrames.MessageOf(forged));
            group.Members[1].SendForTest(3, forged);
            await Eventually.True(() => logs.Contains(LogLevel.Warning, $"in view {viewId} from member 4242 dropped: it was asked of member(s) 0, 1, 2"), "the stranger's parts to be dropped");
            await Eventually.True(() => logs.Contains(LogLevel.Warning, $"in view {viewId} from member 1 dropped: it is arriving from member 0"), "member 1's part to be dropped");

            await group.Members[0].DisposeAsync(); // the real sender crashes: member 1 sends the state in the next view
            joiner = await joining.WaitAsync(TimeSpan.FromSeconds(60));
            var expected = await group.Members[1].Subgroup<Blob>().On(1).Digest();
            Assert.Equal(20L << 20, expected[0]);
            Assert.Equal(expected, await group.Members[1].Subgroup<Blob>().On(3).Digest());
            Assert.Single(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("from member 4242 dropped", StringComparison.Ordinal));
        }
        finally
        {
            await Task.WhenAll(group.Members.Skip(1).Append(joiner).OfType<DerechoGroup>().Select(m => m.ShutdownAsync()));
        }
    }
}
