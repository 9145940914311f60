using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Derecho.Generators.Diagnostics;

/// <summary>Every diagnostic the generator reports; ids are listed in AnalyzerReleases.Unshipped.md and docs/diagnostics.md.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "Derecho.Generator";

    public static readonly DiagnosticDescriptor NotPartial = new(
        "DER1001", "Replicated type must be partial",
        "'{0}' is marked [Replicated] but is not partial (nor are all the types that contain it); the generator cannot add its dispatch code",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ByRefParameter = new(
        "DER1002", "Replicated method parameter passed by reference",
        "Parameter '{0}' of '{1}' is '{2}'; replicated calls copy arguments to other processes, so ref, out and in parameters are not supported",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor GenericMethod = new(
        "DER1003", "Replicated method is generic",
        "'{0}' is generic; replicated methods need concrete parameter types so every replica decodes the same bytes",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor GenericType = new(
        "DER1004", "Replicated type is generic",
        "'{0}' is generic; a [Replicated] type must be a concrete class",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor AsyncHandler = new(
        "DER1005", "Replicated handler returns a task",
        "'{0}' returns '{1}'; [Ordered] and [P2PCallable] handlers run to completion on the delivery thread, so they must be synchronous (the proxy is asynchronous already); only a [Trigger] handler may return Task or ValueTask",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DuplicateMethodId = new(
        "DER1006", "Two replicated methods hash to the same id",
        "'{0}' and '{1}' have the same method id 0x{2}; rename one of them",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BothKinds = new(
        "DER1007", "Method has more than one call kind",
        "'{0}' is marked with more than one of [Ordered], [P2PCallable] and [Trigger]; choose one",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor StaticOrInaccessible = new(
        "DER1008", "Replicated method must be an accessible instance method",
        "'{0}' must be a non-static method that is public or internal",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NotAClass = new(
        "DER1009", "Replicated type must be a class",
        "'{0}' is not a class; [Replicated] applies to classes",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor TriggerReturnsValue = new(
        "DER1010", "Trigger handler returns a value",
        "'{0}' is a [Trigger] method returning '{1}'; a trigger has no result for its caller, so it returns void, Task or ValueTask",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    private static readonly Dictionary<string, DiagnosticDescriptor> DescriptorsById = new[]
    {
        NotPartial, ByRefParameter, GenericMethod, GenericType, AsyncHandler, DuplicateMethodId, BothKinds, StaticOrInaccessible, NotAClass, TriggerReturnsValue,
    }.ToDictionary(d => d.Id);

    public static DiagnosticDescriptor ById(string id) => DescriptorsById[id];
}
