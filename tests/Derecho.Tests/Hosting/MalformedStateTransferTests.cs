using Derecho.Tests.Support;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Tests.Hosting;

/// <summary>
/// State transfer bodies that MemoryPack decodes with arrays missing (found by the fuzzer: a request's body
/// under a tail's kind) are dropped with a warning; they used to throw on the reader thread and cost the
/// connection, and with it a view change.
/// </summary>
public sealed class MalformedStateTransferTests
{
    [Fact]
    public async Task A_state_tail_or_part_with_missing_arrays_costs_a_warning_not_the_connection()
    {
        var logs = new CapturingLoggerProvider();
        await using var group = await InProcessGroup.StartAsync(2, logs);
        var viewId = group.Members[1].View.Id;
        byte[][] forged =
        [
            StateTransferMessages.Encode(MessageKind.ShardStateTail, new ShardStateRequest(7, 0, viewId, 41)),
            StateTransferMessages.Encode(MessageKind.ShardStateTail, new ShardStateTail(7, 0, viewId, true, [1], [2], [null!])),
            StateTransferMessages.Encode(MessageKind.ShardStatePart, new ShardStatePart(7, 0, viewId, 10, 0, null!)),
        ];
        foreach (var message in forged) group.Members[0].SendForTest(1, message);

        await Eventually.True(() => logs.Contains(LogLevel.Warning, "Malformed state transfer message (kind 30"), "the forged tail to be dropped", timeoutSeconds: 20);
        await group.Members[1].Subgroup<Register>().Ordered.Set(5); // the connection still carries calls
        Assert.Equal(viewId, group.Members[1].View.Id);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(nameof(NullReferenceException), StringComparison.Ordinal));
    }
}
