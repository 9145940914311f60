using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;

namespace Derecho.Compiler.Tests;

/// <summary>
/// Compilation references built from the running .NET 10 runtime plus Derecho.Runtime and MemoryPack,
/// so tests need no reference-assembly download.
/// </summary>
internal static class References
{
    public static readonly ImmutableArray<MetadataReference> All = Build();

    /// <summary>For the Roslyn testing framework: no package to resolve, our references added explicitly.</summary>
    public static ReferenceAssemblies Empty { get; } = new("net10.0-local");

    private static ImmutableArray<MetadataReference> Build()
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .ToList();
        paths.Add(typeof(Derecho.Rpc.ReplicatedAttribute).Assembly.Location);
        paths.Add(typeof(MemoryPack.MemoryPackSerializer).Assembly.Location);
        paths.Add(typeof(Microsoft.Extensions.Logging.ILogger).Assembly.Location);
        return paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    }
}
