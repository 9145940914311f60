using Derecho.Wire;

namespace Derecho.Fuzz.Targets;

/// <summary>The RPC headers: ordered call, P2P request, relay, reply.</summary>
internal static class RpcTargets
{
    public static void Headers(ReadOnlySpan<byte> input)
    {
        _ = RpcHeaders.TryReadOrderedHeader(input, out _, out _, out _, out _);
        _ = RpcHeaders.RequestIdOf(input);
        _ = RpcHeaders.TryReadP2PHeader(input, out _, out _, out _, out _);
        _ = RpcHeaders.TryReadRelayHeader(input, out _, out _, out _, out _);
        _ = RpcHeaders.TryReadReplyHeader(input, out _, out _, out _);
    }
}
