using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

/// <summary>A finding in one method body, reported later if the method is reachable from a handler.</summary>
internal sealed record Finding(DiagnosticDescriptor Descriptor, Location Location, string What, string? Detail, string? Replacement, bool ForP2P);

/// <summary>Which operations make ordered handlers non-deterministic, and what replaces them where something does.</summary>
internal static class DeterminismRules
{
    public const string ReplacementKey = "Replacement";
    private const string Timestamp = "global::Derecho.Rpc.OrderedContext.Timestamp";
    private const string UseTimestamp = "; use OrderedContext.Timestamp, the call's agreed time";
    private const string UseRandom = "; use OrderedContext.Random, seeded from the call's place in the total order";

    private static readonly Dictionary<string, (string? Replacement, string Advice)> ClockProperties = new()
    {
        ["System.DateTime.Now"] = (Timestamp, UseTimestamp + " (UTC)"),
        ["System.DateTime.UtcNow"] = (Timestamp, UseTimestamp),
        ["System.DateTime.Today"] = (Timestamp + ".Date", UseTimestamp + " (UTC)"),
        ["System.DateTimeOffset.Now"] = ("new global::System.DateTimeOffset(" + Timestamp + ")", UseTimestamp),
        ["System.DateTimeOffset.UtcNow"] = ("new global::System.DateTimeOffset(" + Timestamp + ")", UseTimestamp),
        ["System.Environment.TickCount"] = (null, ""),
        ["System.Environment.TickCount64"] = (null, ""),
        ["System.TimeProvider.System"] = (null, ""),
    };

    private static readonly HashSet<string> ConcurrencyTypes = new()
    {
        "System.Threading.Tasks.Parallel", "System.Threading.ThreadPool", "System.Threading.Tasks.TaskFactory",
    };

    private static readonly HashSet<string> IoTypes = new()
    {
        "System.IO.File", "System.IO.Directory", "System.IO.FileInfo", "System.IO.DirectoryInfo", "System.IO.FileStream",
        "System.IO.StreamReader", "System.IO.StreamWriter", "System.Net.Http.HttpClient", "System.Net.Sockets.Socket",
        "System.Net.Sockets.TcpClient", "System.Net.Sockets.UdpClient", "System.Net.Sockets.TcpListener",
        "System.Net.WebClient", "System.Net.Dns", "System.Diagnostics.Process",
    };

    private static readonly HashSet<string> HashCollections = new()
    {
        "System.Collections.Generic.HashSet", "System.Collections.Generic.Dictionary",
        "System.Collections.Generic.Dictionary.KeyCollection", "System.Collections.Generic.Dictionary.ValueCollection",
        "System.Collections.Concurrent.ConcurrentDictionary", "System.Collections.Immutable.ImmutableHashSet",
        "System.Collections.Immutable.ImmutableDictionary",
    };

    public static void PropertyReference(IPropertyReferenceOperation operation, List<Finding> findings)
    {
        var property = operation.Property;
        var name = KnownSymbols.NameOf(property.ContainingType) + "." + property.Name;
        if (ClockProperties.TryGetValue(name, out var clock))
            findings.Add(Ordered(Descriptors.WallClock, operation, ShortName(property), clock.Advice, clock.Replacement));
        else if (name == "System.Random.Shared")
            findings.Add(Ordered(Descriptors.Randomness, operation, "Random.Shared", UseRandom, "global::Derecho.Rpc.OrderedContext.Random"));
        else if (KnownSymbols.NameOf(property.ContainingType) == "System.Diagnostics.Stopwatch")
            findings.Add(Ordered(Descriptors.WallClock, operation, ShortName(property), "", null));
    }

    public static void Invocation(IInvocationOperation operation, List<Finding> findings)
    {
        var method = operation.TargetMethod;
        var type = KnownSymbols.NameOf(method.ContainingType);
        var what = ShortName(method) + "()";
        switch (type)
        {
            case "System.Guid" when method.Name == "NewGuid":
                findings.Add(Ordered(Descriptors.Randomness, operation, what, "; use OrderedContext.NewGuid()", "global::Derecho.Rpc.OrderedContext.NewGuid()"));
                return;
            case "System.Security.Cryptography.RandomNumberGenerator":
                findings.Add(Ordered(Descriptors.Randomness, operation, what, UseRandom, null));
                return;
            case "System.Diagnostics.Stopwatch":
                findings.Add(Ordered(Descriptors.WallClock, operation, what, "", null));
                return;
            case "System.Threading.Tasks.Task" when method.Name == "Run":
                findings.Add(Ordered(Descriptors.Concurrency, operation, what, null, null));
                return;
            case "System.Console" when method.Name.StartsWith("Read", System.StringComparison.Ordinal):
                findings.Add(Ordered(Descriptors.IoOrEnvironment, operation, what, null, null));
                return;
            case "System.Environment" when method.Name.StartsWith("GetEnvironmentVariable", System.StringComparison.Ordinal):
                findings.Add(Ordered(Descriptors.IoOrEnvironment, operation, what, null, null));
                return;
        }
        if (ConcurrencyTypes.Contains(type)) findings.Add(Ordered(Descriptors.Concurrency, operation, what, null, null));
        else if (IoTypes.Contains(type)) findings.Add(Ordered(Descriptors.IoOrEnvironment, operation, what, null, null));
        else if (type == "System.Linq.Enumerable" && method.IsExtensionMethod && operation.Arguments.Length > 0)
            HashEnumeration(operation.Arguments[0].Value, operation, findings);
    }

    public static void ObjectCreation(IObjectCreationOperation operation, List<Finding> findings)
    {
        var type = KnownSymbols.NameOf(operation.Type);
        var what = "new " + (operation.Type?.Name ?? "?") + "(...)";
        if (type == "System.Random" && operation.Arguments.Length == 0)
            findings.Add(Ordered(Descriptors.Randomness, operation, "new Random()", UseRandom, "global::Derecho.Rpc.OrderedContext.Random"));
        else if (type is "System.Threading.Thread" or "System.Threading.Timer" or "System.Timers.Timer")
            findings.Add(Ordered(Descriptors.Concurrency, operation, what, null, null));
        else if (type == "System.Diagnostics.Stopwatch")
            findings.Add(Ordered(Descriptors.WallClock, operation, what, "", null));
        else if (IoTypes.Contains(type))
            findings.Add(Ordered(Descriptors.IoOrEnvironment, operation, what, null, null));
    }

    public static void Await(IAwaitOperation operation, List<Finding> findings) =>
        findings.Add(Ordered(Descriptors.Concurrency, operation, "await", null, null));

    public static void Lock(ILockOperation operation, List<Finding> findings)
    {
        var locked = Unwrap(operation.LockedValue);
        if (locked is IFieldReferenceOperation { Field.IsStatic: true } or ITypeOfOperation)
            findings.Add(Ordered(Descriptors.Concurrency, locked, "lock (" + locked.Syntax + ")", null, null));
    }

    public static void ForEach(IForEachLoopOperation operation, List<Finding> findings) =>
        HashEnumeration(operation.Collection, operation.Collection, findings);

    /// <summary>Assignments: to static fields (ordered rule) and to this type's instance fields (P2P rule).</summary>
    public static void Write(IOperation target, IOperation operation, INamedTypeSymbol replicatedType, List<Finding> findings)
    {
        if (Unwrap(target) is not IFieldReferenceOperation field) return;
        if (field.Field.IsStatic && !field.Field.IsConst)
            findings.Add(new Finding(Descriptors.StaticWrite, operation.Syntax.GetLocation(), operation.Syntax.ToString(), field.Field.Name, null, ForP2P: false));
        else if (!field.Field.IsStatic && field.Instance is IInstanceReferenceOperation
                 && SymbolEqualityComparer.Default.Equals(field.Field.ContainingType.OriginalDefinition, replicatedType.OriginalDefinition))
            findings.Add(new Finding(Descriptors.P2PMutation, operation.Syntax.GetLocation(), operation.Syntax.ToString(), null, null, ForP2P: true));
    }

    /// <summary>Update/Append on Persistent&lt;T&gt; or Volatile&lt;T&gt; creates a version: a mutation.</summary>
    public static void VersionedUpdate(IInvocationOperation operation, List<Finding> findings)
    {
        var type = KnownSymbols.NameOf(operation.TargetMethod.ContainingType);
        if (type is "Derecho.Persistence.Persistent" or "Derecho.Persistence.Volatile" or "Derecho.Persistence.Versioned" && operation.TargetMethod.Name is "Update" or "Set" or "Append" or "TrimBefore")
            findings.Add(new Finding(Descriptors.P2PMutation, operation.Syntax.GetLocation(), operation.Syntax.ToString(), null, null, ForP2P: true));
    }

    private static void HashEnumeration(IOperation collection, IOperation at, List<Finding> findings)
    {
        var type = Unwrap(collection).Type as INamedTypeSymbol;
        if (type is null || !HashCollections.Contains(KnownSymbols.NameOf(type))) return;
        var keyed = type.ContainingType is { } outer && KnownSymbols.NameOf(type).EndsWith("Collection", System.StringComparison.Ordinal) ? outer : type;
        if (keyed.TypeArguments.Length == 0) return;
        var key = keyed.TypeArguments[0].SpecialType;
        if (key is SpecialType.System_String or SpecialType.System_Object)
            findings.Add(Ordered(Descriptors.HashOrderEnumeration, at, Unwrap(collection).Syntax.ToString(), null, null));
    }

    private static Finding Ordered(DiagnosticDescriptor descriptor, IOperation operation, string what, string? detail, string? replacement) =>
        new(descriptor, operation.Syntax.GetLocation(), what, detail, replacement, ForP2P: false);

    private static IOperation Unwrap(IOperation operation)
    {
        while (operation is IConversionOperation conversion) operation = conversion.Operand;
        return operation;
    }

    private static string ShortName(ISymbol symbol) => symbol.ContainingType.Name + "." + symbol.Name;
}
