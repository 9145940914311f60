using Derecho.Layout;
using Derecho.Wire;

namespace Derecho.Fuzz.Targets;

/// <summary>Every join message decoder on the same bytes (the coordinator picks one by the kind byte).</summary>
internal static class MembershipTargets
{
    public static void Join(ReadOnlySpan<byte> input)
    {
        _ = JoinMessages.TryReadPair(input, out _, out _);
        _ = JoinMessages.TryReadJoinCommit(input, out _);
        _ = JoinMessages.TryReadJoinRefused(input, out _);
        // A joiner decodes the proposal's layout when it carries one (JoinCoordinator.OnViewProposal).
        if (JoinMessages.TryReadViewProposal(input, out _, out _, out _, out var layout) && !layout.IsEmpty)
            _ = GroupLayout.TryDeserialize(layout, LayoutTargets.NameOf);
    }
}
