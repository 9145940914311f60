using Derecho.Client;
using Derecho.Hosting;
using Derecho.Tests.Support;
using Derecho.Wire;
using MemoryPack;

namespace Derecho.Tests.Client;

/// <summary>
/// Exactly-once ordered calls from external clients. Tried: the contact crashes with hundreds of non-idempotent
/// calls in flight (the client re-sends them itself); the same call sent twice, before and after a view change and a
/// state transfer to a new member; a call re-sent below the client's floor; a re-send after every member restarted
/// from its log; malformed session headers. Every call must be applied once, and every re-send answered with the
/// original replies.
/// </summary>
public sealed class ClientSessionTests : IDisposable
{
    private readonly TemporaryDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Killing_the_contact_with_calls_in_flight_applies_each_call_once_and_every_caller_gets_its_original_reply()
    {
        var group = await InProcessGroup.StartAsync();
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var register = client.Subgroup<Register>();
        var contact = client.Contact;
        const int Calls = 3000;
        var replies = new long[Calls];
        var completed = 0;
        var crash = Task.CompletedTask;
        using var window = new SemaphoreSlim(256);
        var calls = Enumerable.Range(0, Calls).Select(async i =>
        {
            await window.WaitAsync();
            try
            {
                var results = await register.Ordered.Set(i);
                // Each replica answered alike: the position of the value in its history.
                replies[i] = Assert.Single(results.Select(r => r.Value).Distinct());
            }
            finally { window.Release(); }
            if (Interlocked.Increment(ref completed) == 500) crash = group.Members[contact].DisposeAsync().AsTask(); // the contact crashes mid-stream
        }).ToList();
        await Task.WhenAll(calls).WaitAsync(TimeSpan.FromMinutes(2)); // not one call failed
        await crash;

        var survivors = group.Members.Where(m => m.MyId != contact).ToArray();
        Assert.NotEqual(contact, client.Contact);
        foreach (var member in survivors)
        {
            var history = await register.On(member.MyId).History();
            Assert.Equal(Calls, history.Count); // nothing applied twice, nothing lost
            Assert.Equal(Enumerable.Range(0, Calls).Select(i => (long)i), history.Order());
            for (var i = 0; i < Calls; i++) Assert.Equal(i, history[(int)replies[i] - 1]); // the reply each caller got is the call's own
        }
        await Task.WhenAll(survivors.Select(m => m.ShutdownAsync()));
    }

    [Fact]
    public async Task A_re_sent_call_is_answered_with_its_original_replies_before_and_after_a_view_change_and_never_applied_again()
    {
        await using var group = await InProcessGroup.StartAsync();
        var set = (long value) => SessionProbe.Capture<Register>(r => r.Set(value));
        await using var probe = await SessionProbe.ConnectAsync(PeerIdsForTests.Client(1), member: 0, group.Ports[0]);

        var first = await probe.RelayAsync<Register>(set(42), sequence: 0, floor: 0);
        var again = await probe.RelayAsync<Register>(set(42), sequence: 0, floor: 0);
        Assert.Equal(Positions(first), Positions(again));
        Assert.Equal(new long[] { 1, 1, 1 }, Positions(again));

        await probe.RelayAsync<Register>(set(43), sequence: 1, floor: 0);
        await probe.RelayAsync<Register>(set(44), sequence: 2, floor: 2); // the client has outcomes of 0 and 1: they may be forgotten
        var belowFloor = await probe.RelayAsync<Register>(set(43), sequence: 1, floor: 1);
        Assert.All(belowFloor, r => Assert.Equal(ReplyStatus.SessionExpired, r.Status));

        // A new member gets the shard's state, sessions included; then member 0 crashes: the view changes twice.
        var joiner = await group.JoinNewMemberAsync(3);
        await Eventually.True(() => group.Members[1].View.Members.Count == 4, "member 3 to join");
        var afterJoin = await probe.RelayAsync<Register>(set(44), sequence: 2, floor: 2);
        Assert.Equal([0, 1, 2, 3], afterJoin.Select(r => r.MemberId));
        Assert.Equal(new long[] { 3, 3, 3, 3 }, Positions(afterJoin)); // the joiner answers from the session table it received

        await using var viaOther = await SessionProbe.ConnectAsync(probe.Id, member: 1, group.Ports[1]);
        await group.Members[0].DisposeAsync();
        await Eventually.True(() => group.Members[1].View.Members.Count == 3, "member 0 to be removed");
        var afterCrash = await viaOther.RelayAsync<Register>(set(44), sequence: 2, floor: 2);
        Assert.Equal(new long[] { 3, 3, 3 }, Positions(afterCrash));

        foreach (var member in new[] { 1, 2, 3 })
            Assert.Equal(new long[] { 42, 43, 44 }, await group.Members[1].Subgroup<Register>().On(member).History());
        await joiner.ShutdownAsync();
    }

    [Fact]
    public async Task Sessions_survive_a_total_restart_from_the_logs()
    {
        var add = SessionProbe.Capture<Journal>(j => j.Add(10));
        var ports = Ports.Free(3);
        var members = await Task.WhenAll(Enumerable.Range(0, 3).Select(id => Start(id, ports)));
        var clientId = PeerIdsForTests.Client(2);
        await using (var probe = await SessionProbe.ConnectAsync(clientId, member: 1, ports[1]))
        {
            Assert.Equal(new long[] { 10, 10, 10 }, Totals(await probe.RelayAsync<Journal>(add, sequence: 0, floor: 0)));
            Assert.Equal(new long[] { 20, 20, 20 }, Totals(await probe.RelayAsync<Journal>(add, sequence: 1, floor: 0)));
        }
        await Task.WhenAll(members.Select(m => m.DisposeAsync().AsTask())); // every member stops at once

        ports = Ports.Free(3);
        var restarted = await Task.WhenAll(Enumerable.Range(0, 3).Select(id => Start(id, ports)));
        try
        {
            await using var probe = await SessionProbe.ConnectAsync(clientId, member: 2, ports[2]);
            Assert.Equal(new long[] { 10, 10, 10 }, Totals(await probe.RelayAsync<Journal>(add, sequence: 0, floor: 0))); // the original reply
            Assert.Equal(new long[] { 20, 20, 20 }, Totals(await probe.RelayAsync<Journal>(add, sequence: 1, floor: 0)));
            Assert.Equal(new long[] { 30, 30, 30 }, Totals(await probe.RelayAsync<Journal>(add, sequence: 2, floor: 0)));
            foreach (var member in restarted)
                Assert.Equal(30, (await restarted[0].Subgroup<Journal>().On(member.MyId).Latest())[1]);
        }
        finally
        {
            await Task.WhenAll(restarted.Select(m => m.ShutdownAsync()));
        }
    }

    [Fact]
    public async Task A_malformed_session_header_is_refused_with_its_reason_and_applies_nothing()
    {
        await using var group = await InProcessGroup.StartAsync();
        await using var probe = await SessionProbe.ConnectAsync(PeerIdsForTests.Client(3), member: 0, group.Ports[0]);
        var set = SessionProbe.Capture<Register>(r => r.Set(7));
        var floorAbove = await probe.RelayAsync<Register>(set, sequence: 3, floor: 4); // a floor above its own call
        Assert.Equal(ReplyStatus.MalformedRequest, Assert.Single(floorAbove).Status);
        Assert.Contains("session part is malformed", System.Text.Encoding.UTF8.GetString(floorAbove[0].Payload));
        Assert.Empty(await group.Members[0].Subgroup<Register>().On(1).History());
    }

    private static long[] Positions(List<RawReply> replies) => replies.Select(Decode).ToArray();

    private static long[] Totals(List<RawReply> replies) => replies.Select(Decode).ToArray();

    private static long Decode(RawReply reply)
    {
        Assert.Equal(ReplyStatus.Ok, reply.Status);
        return MemoryPackSerializer.Deserialize<long>(reply.Payload);
    }

    private Task<DerechoGroup> Start(int id, int[] ports)
    {
        var options = InProcessGroup.Options(id, ports);
        options.DataDirectory = _dir.Path;
        options.ConnectTimeout = TimeSpan.FromSeconds(3);
        return DerechoGroup.JoinAsync(options, l => l.Subgroup(c => new Journal(c)));
    }
}

/// <summary>Client ids for tests that play a client by hand (above every member id).</summary>
internal static class PeerIdsForTests
{
    public static int Client(int n) => Derecho.Security.PeerIds.FirstClientId + 1000 + n;
}
