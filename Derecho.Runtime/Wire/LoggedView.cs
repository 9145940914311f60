using MemoryPack;

namespace Derecho.Wire;

/// <summary>
/// A view as the view log keeps it on disk: a format like the messages', so it lives with them and its
/// formatter is registered with theirs (<see cref="MessageBodies"/>).
/// </summary>
[MemoryPackable]
internal sealed partial record LoggedView(long ViewId, int[] Ids, long[] Endpoints, byte[] LastAdequate);
