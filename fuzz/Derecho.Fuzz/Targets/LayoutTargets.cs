using System.Globalization;
using Derecho.Layout;

namespace Derecho.Fuzz.Targets;

/// <summary>The layout a joiner, a client or a restarting member decodes.</summary>
internal static class LayoutTargets
{
    public static void Layout(ReadOnlySpan<byte> input) => _ = GroupLayout.TryDeserialize(input, NameOf);

    public static string NameOf(uint typeId) => typeId.ToString("X8", CultureInfo.InvariantCulture);
}
