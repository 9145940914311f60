using Derecho.Layout;
using Derecho.Wire;

namespace Derecho.Fuzz.Targets;

/// <summary>What a member reads from a client and a client from a member (DerechoClient, ClientGateway).</summary>
internal static class ClientTargets
{
    public static void Client(ReadOnlySpan<byte> input)
    {
        _ = JoinMessages.TryReadPair(input, out _, out _); // a client's hello
        _ = ClientMessages.TryReadRelayResult(input, out _, out _);
        _ = TriggerMessages.TryReadBatch(input, out _, out _);
        _ = TriggerMessages.TryReadAck(input, out _, out _, out _);
        _ = NotificationMessages.TryReadSubscribe(input, out _, out _, out _, out _, out _, out _);
        _ = NotificationMessages.TryReadUnsubscribe(input, out _);
        _ = NotificationMessages.TryReadEnded(input, out _, out _, out _, out _);
        _ = NotificationMessages.TryReadBatch(input.ToArray(), out _, out _);
        // View info: a view proposal's layout whose layout is always decoded.
        if (JoinMessages.TryReadViewProposal(input, out _, out _, out _, out var layout))
            _ = GroupLayout.TryDeserialize(layout, LayoutTargets.NameOf);
    }
}
