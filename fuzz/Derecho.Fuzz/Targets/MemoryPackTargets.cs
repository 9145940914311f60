using Derecho.Rpc;
using Derecho.Wire;
using MemoryPack;

namespace Derecho.Fuzz.Targets;

/// <summary>The MemoryPack bodies: state transfer and restart messages, and a call's arguments.</summary>
internal static class MemoryPackTargets
{
    /// <summary>What the router accepts (MessageRouter.OnStateTransferMessage) must be usable by the protocol thread.</summary>
    public static void StateTransfer(ReadOnlySpan<byte> input)
    {
        _ = StateTransferMessages.TryDecode<ShardStateRequest>(input);
        if (StateTransferMessages.TryDecodeTail(input) is { } tail)
            Require(tail.Versions.Length == tail.Ticks.Length && tail.Ticks.Length == tail.Payloads.Length && Array.TrueForAll(tail.Payloads, p => p is not null),
                "a tail with missing or uneven arrays was accepted");
        if (StateTransferMessages.TryDecodePart(input) is { } part)
            Require(part.Bytes is not null, "a state part without bytes was accepted");
        _ = StateTransferMessages.TryReadShardStateUnavailable(input, out _, out _, out _, out _);
    }

    /// <summary>Restart bodies; RestartHandshake checks each one's arrays before use.</summary>
    public static void Restart(ReadOnlySpan<byte> input)
    {
        _ = RestartMessages.TryDecode<RestartHello>(input);
        _ = RestartMessages.TryDecode<RestartViewMessage>(input);
        _ = RestartMessages.TryDecode<RestartRejoin>(input);
        _ = RestartMessages.TryDecode<RestartReady>(input);
        _ = RestartMessages.TryDecode<LogTailRequest>(input);
        _ = RestartMessages.TryDecode<LogTailChunk>(input);
    }

    /// <summary>
    /// Arguments as generated dispatch code reads them, for the first byte's choice of signature. A
    /// MemoryPackSerializationException is the documented refusal (ReplicaDispatcher answers MalformedRequest).
    /// </summary>
    public static void Arguments(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty) return;
        var reader = new ArgumentReader(input[1..]);
        try
        {
            switch (input[0] % 4)
            {
                case 0:
                    _ = reader.Read<long>();
                    _ = reader.Read<string>();
                    break;
                case 1:
                    _ = reader.Read<string>();
                    _ = reader.Read<byte[]>();
                    break;
                case 2:
                    _ = reader.Read<int[]>();
                    _ = reader.Read<List<string>>();
                    break;
                default:
                    _ = reader.Read<Dictionary<string, long>>();
                    _ = reader.Read<SampleArgument>();
                    break;
            }
            reader.Dispose();
        }
        catch (MemoryPackSerializationException)
        {
            // Read returned the pooled state before it threw.
        }
    }

    private static void Require(bool condition, string finding)
    {
        if (!condition) throw new FuzzFindingException(finding);
    }
}

/// <summary>
/// A user argument type as a [Replicated] method might take one, a plain string member included: MemoryPack's
/// generated code reads it itself (MemoryPack 1.21.4 read a bad length past the buffer; 1.22.0 refuses it).
/// </summary>
[MemoryPackable]
internal sealed partial record SampleArgument(int Id, string Name, List<string> Tags, long[] Values, byte[]? Blob);
