using MemoryPack;

namespace Derecho.Wire;

/// <summary>
/// MemoryPack (1.21.4) reads a UTF-8 string whose length header is int.MinValue to int.MinValue + 3 past the
/// end of its buffer: the byte count plus 4 overflows its bounds check, and the read is an access violation
/// that no catch stops (found by fuzzing). This formatter refuses those headers, then reads and writes
/// exactly as MemoryPack does. Registered for every string MemoryPack resolves a formatter for (arguments,
/// arrays, lists, dictionaries); a string member of a [MemoryPackable] type needs <see cref="GuardedStringAttribute"/>.
/// </summary>
internal sealed class GuardedStringFormatter : MemoryPackFormatter<string>
{
    public static readonly GuardedStringFormatter Instance = new();

    public override void Serialize<TBufferWriter>(ref MemoryPackWriter<TBufferWriter> writer, scoped ref string? value) => writer.WriteString(value);

    public override void Deserialize(ref MemoryPackReader reader, scoped ref string? value)
    {
        reader.TryPeekCollectionHeader(out var length);
        if (length is >= int.MinValue and <= int.MinValue + 3)
            throw new MemoryPackSerializationException($"string length header {length} cannot be read (it overflows MemoryPack's bounds check)");
        value = reader.ReadString();
    }
}

/// <summary>Reads a string member through <see cref="GuardedStringFormatter"/>.</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property | AttributeTargets.Parameter)]
internal sealed class GuardedStringAttribute : MemoryPackCustomFormatterAttribute<GuardedStringFormatter, string>
{
    public override GuardedStringFormatter GetFormatter() => GuardedStringFormatter.Instance;
}
