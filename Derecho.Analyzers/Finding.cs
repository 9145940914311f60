using Microsoft.CodeAnalysis;

namespace Derecho.Analyzers;

/// <summary>
/// A finding in one method body, reported later if the method is reachable from a handler.
/// <paramref name="OwnTypeOnly"/>: counts only when the method belongs to the handler's own type
/// (writing an instance field is a mutation of the replica only there). <paramref name="Concurrent"/>: a change to a
/// System.Collections.Concurrent collection, which a trigger may keep as its own state.
/// </summary>
internal sealed record Finding(DiagnosticDescriptor Descriptor, Location Location, string What, string? Detail, string? Replacement, bool ForP2P, bool OwnTypeOnly = false, bool Concurrent = false)
{
    /// <summary>A finding of an [Ordered]-handler rule at <paramref name="operation"/>.</summary>
    public static Finding Ordered(DiagnosticDescriptor descriptor, Microsoft.CodeAnalysis.IOperation operation, string what, string? detail = null, string? replacement = null) =>
        new(descriptor, operation.Syntax.GetLocation(), what, detail, replacement, ForP2P: false);
}
