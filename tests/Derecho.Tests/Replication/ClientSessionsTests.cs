using Derecho.Client;
using Derecho.Replication;
using Derecho.Rpc;
using Derecho.Wire;

namespace Derecho.Tests.Replication;

/// <summary>
/// The replicated session table and the client's window, alone. Tried: duplicates, calls below the floor, floors
/// raised out of order, idle sessions past the expiry, a table copied through state transfer, malformed tables
/// (cut short, absurd counts), and headers with unknown flags or negative numbers.
/// </summary>
public sealed class ClientSessionsTests
{
    private static DeliveryInfo At(long version, DateTime time) => new(0, version, version, time, 0);

    private static readonly DateTime Start = new(2026, 12, 3, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void A_recorded_call_is_a_duplicate_until_the_floor_passes_it_then_expired()
    {
        var sessions = new ClientSessions();
        var call = new ClientSession(7, 0, 0);
        Assert.Equal(ClientSessions.Verdict.New, sessions.Check(call, out _));
        sessions.Record(call, ReplyStatus.Ok, [1, 2, 3], At(1, Start));
        Assert.Equal(ClientSessions.Verdict.Duplicate, sessions.Check(call, out var outcome));
        Assert.Equal([1, 2, 3], outcome.Reply);
        Assert.Equal(1, outcome.Version);
        Assert.Equal(ClientSessions.Verdict.New, sessions.Check(new ClientSession(8, 0, 0), out _)); // another client's call 0

        sessions.Record(new ClientSession(7, 1, 1), ReplyStatus.HandlerFailed, [9], At(2, Start));
        Assert.Equal(ClientSessions.Verdict.Expired, sessions.Check(call, out _));
        Assert.Equal(ClientSessions.Verdict.Duplicate, sessions.Check(new ClientSession(7, 1, 1), out var failed));
        Assert.Equal(ReplyStatus.HandlerFailed, failed.Status);
        Assert.Equal(2, sessions.NeededFrom); // the record of version 1 is not needed any more
    }

    [Fact]
    public void Sessions_idle_past_the_expiry_are_forgotten_in_agreed_time()
    {
        var sessions = new ClientSessions();
        sessions.Record(new ClientSession(1, 0, 0), ReplyStatus.Ok, [], At(1, Start));
        sessions.Record(new ClientSession(2, 0, 0), ReplyStatus.Ok, [], At(2, Start + ClientSessions.Expiry / 2));
        sessions.Record(new ClientSession(2, 1, 0), ReplyStatus.Ok, [], At(3, Start + ClientSessions.Expiry + TimeSpan.FromMinutes(1)));
        Assert.Equal(1, sessions.Count);
        Assert.Equal(ClientSessions.Verdict.New, sessions.Check(new ClientSession(1, 0, 0), out _));
        Assert.Equal(ClientSessions.Verdict.Duplicate, sessions.Check(new ClientSession(2, 0, 0), out _));
    }

    [Fact]
    public void The_table_goes_through_state_transfer_whole_and_a_malformed_one_changes_nothing()
    {
        var sessions = new ClientSessions();
        for (var i = 0; i < 10; i++) sessions.Record(new ClientSession(i % 3, i, 0), ReplyStatus.Ok, [(byte)i], At(i + 1, Start));
        using var buffer = new PooledBufferWriter();
        sessions.WriteTo(buffer);
        var copy = new ClientSessions();
        copy.ReadFrom(buffer.WrittenSpan);
        Assert.Equal(3, copy.Count);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(ClientSessions.Verdict.Duplicate, copy.Check(new ClientSession(i % 3, i, 0), out var outcome));
            Assert.Equal([(byte)i], outcome.Reply);
        }

        var bytes = buffer.WrittenSpan.ToArray();
        Assert.Throws<InvalidDataException>(() => copy.ReadFrom(bytes.AsSpan(0, bytes.Length - 1)));
        bytes[8] = 0xFF; // a count of clients far beyond the bytes
        Assert.Throws<InvalidDataException>(() => copy.ReadFrom(bytes));
        Assert.Equal(3, copy.Count);
    }

    [Fact]
    public void The_clients_floor_is_the_lowest_call_not_finished()
    {
        var window = new SessionWindow();
        var calls = Enumerable.Range(0, 5).Select(_ => window.Begin().Sequence).ToArray();
        Assert.Equal([0L, 1, 2, 3, 4], calls);
        window.Finish(2);
        window.Finish(1);
        Assert.Equal(0, window.Floor);
        window.Finish(0);
        Assert.Equal(3, window.Floor);
        window.Finish(9); // never begun: ignored
        window.Finish(4);
        window.Finish(3);
        Assert.Equal(5, window.Floor);
        Assert.Equal((5L, 5L), window.Begin());
    }

    [Fact]
    public void Session_headers_with_unknown_flags_or_negative_numbers_are_refused()
    {
        var relay = new byte[RpcHeaders.SessionRelayHeaderSize];
        RpcHeaders.WriteSessionRelayHeader(relay, 5, 0, 6, 1, sequence: 4, floor: 2);
        Assert.True(RpcHeaders.TryReadRelaySession(relay, out var sequence, out var floor, out var at));
        Assert.Equal((4L, 2L, RpcHeaders.SessionRelayHeaderSize), (sequence, floor, at));
        Assert.False(RpcHeaders.TryReadRelaySession(relay.AsSpan(0, RpcHeaders.RelayHeaderSize + 4), out _, out _, out _));
        relay[1] = 0x80; // no such flag (1: session, 2: trace context)
        Assert.False(RpcHeaders.TryReadRelaySession(relay, out _, out _, out _));

        var envelope = new byte[RpcHeaders.SessionEnvelopeSize + RpcHeaders.OrderedHeaderSize];
        RpcHeaders.WriteSessionEnvelope(envelope, new ClientSession(3, -1, 0));
        Assert.False(RpcHeaders.TryReadSessionEnvelope(envelope, out _, out var call));
        Assert.Equal(envelope.Length, call.Length); // read as a call of reserved type 1, which no shard has
        RpcHeaders.WriteSessionEnvelope(envelope, new ClientSession(3, 8, 8));
        RpcHeaders.WriteOrderedHeader(envelope.AsSpan(RpcHeaders.SessionEnvelopeSize), 5, 6, 77, 0);
        Assert.True(RpcHeaders.TryReadSessionEnvelope(envelope, out var session, out _));
        Assert.Equal(new ClientSession(3, 8, 8), session);
        Assert.Equal(77, RpcHeaders.RequestIdOf(envelope));
    }
}
