using System.Buffers.Binary;
using Derecho.Client;
using Derecho.Errors;
using Derecho.Rpc;
using Derecho.Tests.Support;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Client;

/// <summary>The status query: a client asks any member for its state, view, members and shard versions.</summary>
public class StatusQueryTests
{
    [Fact]
    public async Task Status_query_answers_with_the_members_view_and_shard_versions_of_each_member()
    {
        await using var group = await InProcessGroup.StartAsync();
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var register = client.Subgroup<Register>();
        await register.Ordered.Set(7);
        await register.Ordered.Set(8);

        foreach (var member in new[] { 0, 1, 2 })
        {
            var status = await client.GetStatusAsync(member);
            Assert.Equal(member, status.Member);
            Assert.Equal(GroupMemberState.Running, status.State);
            Assert.Equal([0, 1, 2], status.Members);
            Assert.Equal(client.ViewId, status.ViewId);
            Assert.Null(status.Reason);
            var shard = Assert.Single(status.Shards);
            Assert.Equal(0, shard.Shard);
            Assert.Equal(3, shard.Replicas);
            Assert.Contains("Register", shard.Type, StringComparison.Ordinal);
            Assert.True(shard.Delivered >= 1, $"member {member} delivered version {shard.Delivered}");
            Assert.InRange(status.ReadAt, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1));
        }
        var contact = await client.GetStatusAsync();
        Assert.Equal(client.Contact, contact.Member);
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetStatusAsync(9));
    }

    [Fact]
    public async Task Malformed_status_requests_are_refused_with_the_reason_or_dropped_and_the_member_goes_on()
    {
        var logs = new CapturingLoggerProvider();
        await using var group = await InProcessGroup.StartAsync(loggers: logs);
        var options = group.ClientOptions();
        options.RequestTimeout = TimeSpan.FromSeconds(2);
        await using var client = await DerechoClient.ConnectAsync(options);
        var target = client.Contact;

        // Names its request but has a byte too many, or an unknown version: refused, saying why.
        var tooLong = await Assert.ThrowsAsync<RemoteCallException>(() => client.QueryStatusAsync(target, id => [.. StatusMessages.Request(id), 0], default));
        Assert.Contains("malformed status request", tooLong.Message, StringComparison.Ordinal);
        Assert.Contains("1 bytes after", tooLong.Message, StringComparison.Ordinal);
        var version = await Assert.ThrowsAsync<RemoteCallException>(() => client.QueryStatusAsync(target, id =>
        {
            var request = StatusMessages.Request(id);
            request[1] = 9;
            return request;
        }, default));
        Assert.Contains("version 9", version.Message, StringComparison.Ordinal);

        // Too short to name a request: nobody to answer, so it is dropped (and logged); the query times out.
        await Assert.ThrowsAsync<CallTimeoutException>(() => client.QueryStatusAsync(target, _ => [(byte)MessageKind.StatusRequest, 1, 0], default));
        await Eventually.True(() => logs.Contains(LogLevel.Warning, "status request from"), "the member to log the dropped request");

        // The member is unaffected: a well-formed query is answered.
        var status = await client.GetStatusAsync(target);
        Assert.Equal([0, 1, 2], status.Members);
    }

    [Fact]
    public void Status_reply_round_trips_and_every_cut_or_corruption_is_rejected_without_throwing()
    {
        var answer = new StatusAnswer(2, 1, 5, [0, 2, 7], [
            new StatusShard(0x1234, "Kv", 0, 3, 3, true, 10, 12, 11, 9),
            new StatusShard(0xFFFFFFFF, "Tally é", 1, 1, int.MaxValue, false, -1, -1, -1, -1)], null, DateTime.UtcNow.Ticks);
        var reply = StatusMessages.Reply(42, answer);
        Assert.True(StatusMessages.TryReadReplyHeader(reply, out var kind, out var member, out var request));
        Assert.Equal((StatusReplyKind.Ok, 2, 42L), (kind, member, request));
        Assert.True(StatusMessages.TryReadAnswer(reply, member, out var read));
        Assert.Equal(answer.Members, read!.Members);
        Assert.Equal(answer.Shards, read.Shards);
        Assert.Equal((answer.State, answer.ViewId, answer.Ticks, answer.Reason), (read.State, read.ViewId, read.Ticks, read.Reason));

        for (var length = 0; length < reply.Length; length++)
            Assert.False(StatusMessages.TryReadAnswer(reply.AsSpan(0, length), 2, out _), $"a reply cut to {length} bytes was read");
        Assert.False(StatusMessages.TryReadAnswer([.. reply, 0], 2, out _));

        var random = new Random(14);
        for (var i = 0; i < 2000; i++)
        {
            var corrupt = (byte[])reply.Clone();
            corrupt[random.Next(StatusMessages.ReplyHeaderSize, corrupt.Length)] = (byte)random.Next(256);
            StatusMessages.TryReadAnswer(corrupt, 2, out _); // never throws
        }
        var huge = (byte[])reply.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(huge.AsSpan(StatusMessages.ReplyHeaderSize + 4), int.MaxValue); // member count
        Assert.False(StatusMessages.TryReadAnswer(huge, 2, out _));

        var refusal = StatusMessages.Refusal(1, 3, "no");
        Assert.True(StatusMessages.TryReadReplyHeader(refusal, out kind, out _, out _));
        Assert.Equal(StatusReplyKind.Refused, kind);
        Assert.Equal("no", StatusMessages.ReadRefusal(refusal));
    }
}
