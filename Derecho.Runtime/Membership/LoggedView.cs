using MemoryPack;

namespace Derecho.Membership;

/// <summary>A view as the view log keeps it (its formatter is registered with the message bodies', in <see cref="Wire.MessageBodies"/>).</summary>
[MemoryPackable]
internal sealed partial record LoggedView(long ViewId, int[] Ids, long[] Endpoints, byte[] LastAdequate);
