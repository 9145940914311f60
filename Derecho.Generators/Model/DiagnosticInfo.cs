using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Derecho.Generators.Model;

/// <summary>A diagnostic with its location as plain values, so it can travel through the cached pipeline.</summary>
internal sealed record DiagnosticInfo(string DescriptorId, string? FilePath, TextSpan Span, LinePositionSpan LineSpan, EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, Location? location, params string[] arguments)
    {
        var lineSpan = location?.GetLineSpan();
        return new DiagnosticInfo(descriptor.Id, location?.SourceTree?.FilePath, location?.SourceSpan ?? default,
            lineSpan?.Span ?? default, arguments.ToEquatableArray());
    }

    public Diagnostic ToDiagnostic()
    {
        var descriptor = Diagnostics.DiagnosticDescriptors.ById(DescriptorId);
        var location = FilePath is null ? Location.None : Location.Create(FilePath, Span, LineSpan);
        return Diagnostic.Create(descriptor, location, System.Linq.Enumerable.ToArray<object>(Arguments));
    }
}

/// <summary>What parsing one type produced: a model to emit, or the reasons it cannot be emitted.</summary>
internal sealed record ParseResult(ReplicatedTypeDescription? Type, EquatableArray<DiagnosticInfo> Diagnostics);
