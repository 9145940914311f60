using Microsoft.CodeAnalysis;

namespace Derecho.Analyzers;

/// <summary>Types the analyzers look for, resolved once per compilation.</summary>
internal sealed class KnownSymbols
{
    private KnownSymbols(Compilation compilation)
    {
        Replicated = compilation.GetTypeByMetadataName("Derecho.Rpc.ReplicatedAttribute");
        Ordered = compilation.GetTypeByMetadataName("Derecho.Rpc.OrderedAttribute");
        P2PCallable = compilation.GetTypeByMetadataName("Derecho.Rpc.P2PCallableAttribute");
        Trigger = compilation.GetTypeByMetadataName("Derecho.Rpc.TriggerAttribute");
        MemoryPackable = compilation.GetTypeByMetadataName("MemoryPack.MemoryPackableAttribute");
        MemoryPackUnion = compilation.GetTypeByMetadataName("MemoryPack.MemoryPackUnionAttribute");
    }

    public INamedTypeSymbol? Replicated { get; }
    public INamedTypeSymbol? Ordered { get; }
    public INamedTypeSymbol? P2PCallable { get; }
    public INamedTypeSymbol? Trigger { get; }
    public INamedTypeSymbol? MemoryPackable { get; }
    public INamedTypeSymbol? MemoryPackUnion { get; }

    public static KnownSymbols? Create(Compilation compilation)
    {
        var known = new KnownSymbols(compilation);
        return known.Replicated is null ? null : known;
    }

    public static bool Has(ISymbol symbol, INamedTypeSymbol? attribute)
    {
        if (attribute is null) return false;
        foreach (var data in symbol.GetAttributes())
            if (SymbolEqualityComparer.Default.Equals(data.AttributeClass, attribute)) return true;
        return false;
    }

    /// <summary>"System.DateTime" style name of a type's original definition.</summary>
    public static string NameOf(ITypeSymbol? type) =>
        type is null ? "" : type.OriginalDefinition.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat.WithGenericsOptions(SymbolDisplayGenericsOptions.None));
}
