using Derecho.Client;
using Derecho.Rpc;
using Derecho.Tests.Client;
using Derecho.Tests.Support;

namespace Derecho.Tests.Persistence;

/// <summary>
/// An ordered handler that throws fails the call at every replica, so it must change nothing: tried with a handler
/// that updates two persistent fields and a volatile one and notifies, then throws. Before, every change it made
/// before the throw was kept (and logged), and its notification went to subscribers, while the caller was told
/// the call failed.
/// </summary>
public class FailedCallTests
{
    [Fact]
    public async Task A_handler_that_throws_leaves_no_version_no_log_record_and_no_notification()
    {
        var ports = Ports.Free(3);
        var options = Enumerable.Range(0, 3).Select(id => InProcessGroup.Options(id, ports)).ToArray();
        var members = await Task.WhenAll(options.Select(o => Derecho.Hosting.DerechoGroup.JoinAsync(o, l => l.Subgroup(c => new Accounts(c)))));
        long[][] before;
        try
        {
            var accounts = members[0].Subgroup<Accounts>();
            await accounts.Ordered.Transfer(5);
            var clientOptions = new DerechoClientOptions
            {
                Contacts = ports.Select((port, id) => new Derecho.Membership.MemberOptions { Id = id, Endpoint = $"127.0.0.1:{port}" }).ToList(),
                RingBytes = 1 << 20,
                MaxPayloadBytes = 64 << 10,
            };
            await using var client = await DerechoClient.ConnectAsync(clientOptions);
            await using var notifications = new Reader<long>(client.Subgroup<Accounts>().SubscribeAsync<long>("transfer", afterVersion: -1));

            var failed = await Assert.ThrowsAnyAsync<RemoteCallException>(() => accounts.Ordered.TransferThenFail(7));
            Assert.Contains("refused after the fact", failed.Message);
            await accounts.Ordered.Transfer(1);

            // The subscriber sees the two transfers that happened, not the one that failed.
            var seen = await notifications.Take(2);
            Assert.Equal([5L, 1L], seen.Select(n => n.Value));

            before = new long[3][];
            for (var member = 0; member < 3; member++)
            {
                var latest = await accounts.On(member).Latest();
                var counts = await accounts.On(member).Counts();
                Assert.True(latest[1] == -6 && latest[3] == 6, $"member {member}: checking {latest[1]}, savings {latest[3]} (the failed call's changes stayed)");
                Assert.True(latest[0] == latest[2], $"member {member}: checking at version {latest[0]}, savings at {latest[2]}");
                Assert.Equal([2L, 2L, 2L, 2L], counts); // two transfers, two versions of each field
                before[member] = latest;
            }
        }
        finally
        {
            await Task.WhenAll(members.Select(m => m.ShutdownAsync()));
        }

        // A total restart replays each log: the failed call left no record in it.
        var restarted = await Task.WhenAll(options.Select(o => Derecho.Hosting.DerechoGroup.JoinAsync(o, l => l.Subgroup(c => new Accounts(c)))));
        try
        {
            for (var member = 0; member < 3; member++)
                Assert.Equal(before[member], await restarted[member].Subgroup<Accounts>().On(member).Latest());
        }
        finally
        {
            await Task.WhenAll(restarted.Select(m => m.ShutdownAsync()));
        }
    }
}
