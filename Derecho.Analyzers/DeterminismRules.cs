using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

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

    public static void PropertyReference(IPropertyReferenceOperation operation, List<Finding> findings)
    {
        var property = operation.Property;
        var name = KnownSymbols.NameOf(property.ContainingType) + "." + property.Name;
        if (ClockProperties.TryGetValue(name, out var clock))
            findings.Add(Ordered(Descriptors.WallClock, operation, property.ShortName(), clock.Advice, clock.Replacement));
        else if (name == "System.Random.Shared")
            findings.Add(Ordered(Descriptors.Randomness, operation, "Random.Shared", UseRandom, "global::Derecho.Rpc.OrderedContext.Random"));
        else if (KnownSymbols.NameOf(property.ContainingType) == "System.Diagnostics.Stopwatch")
            findings.Add(Ordered(Descriptors.WallClock, operation, property.ShortName(), "", null));
    }

    public static void Invocation(IInvocationOperation operation, List<Finding> findings)
    {
        var method = operation.TargetMethod;
        var type = KnownSymbols.NameOf(method.ContainingType);
        var what = method.ShortName() + "()";
        switch (type)
        {
            case "System.Guid" when method.Name is "NewGuid" or "CreateVersion7":
                findings.Add(Ordered(Descriptors.Randomness, operation, what, "; use OrderedContext.NewGuid()", "global::Derecho.Rpc.OrderedContext.NewGuid()"));
                return;
            case "System.IO.Path" when method.Name is "GetRandomFileName" or "GetTempFileName":
                findings.Add(Ordered(Descriptors.Randomness, operation, what, null, null));
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
        var locked = operation.LockedValue.Unwrap();
        if (locked is IFieldReferenceOperation { Field.IsStatic: true } or ITypeOfOperation)
            findings.Add(Ordered(Descriptors.Concurrency, locked, "lock (" + locked.Syntax + ")", null, null));
    }

    /// <summary>
    /// Assignments: to static state (ordered rule) and to the instance fields of the method's own type
    /// (P2P rule, counted only when that type is the handler's).
    /// </summary>
    public static void Write(IOperation target, IOperation operation, List<Finding> findings)
    {
        StaticMutationRules.Write(target, operation, findings);
        if (target.Unwrap() is IPropertyReferenceOperation { Instance: IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }, Property: var property } && IsAutoProperty(property))
            findings.Add(new Finding(Descriptors.P2PMutation, operation.Syntax.GetLocation(), operation.Syntax.ToString(), null, null, ForP2P: true, OwnTypeOnly: true));
        if (target.Unwrap() is not IFieldReferenceOperation field) return;
        if (field.Field.IsStatic && !field.Field.IsConst)
            findings.Add(new Finding(Descriptors.StaticWrite, operation.Syntax.GetLocation(), operation.Syntax.ToString(), field.Field.Name, null, ForP2P: false));
        else if (!field.Field.IsStatic && field.Instance is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance })
            findings.Add(new Finding(Descriptors.P2PMutation, operation.Syntax.GetLocation(), operation.Syntax.ToString(), null, null, ForP2P: true, OwnTypeOnly: true));
    }

    /// <summary>Update/Append on Persistent&lt;T&gt; or Volatile&lt;T&gt; creates a version: a mutation.</summary>
    public static void VersionedUpdate(IInvocationOperation operation, List<Finding> findings)
    {
        var type = KnownSymbols.NameOf(operation.TargetMethod.ContainingType);
        if (type is "Derecho.Persistence.Persistent" or "Derecho.Persistence.Volatile" or "Derecho.Persistence.Versioned" && operation.TargetMethod.Name is "Update" or "Set" or "Append" or "TrimBefore")
            findings.Add(new Finding(Descriptors.P2PMutation, operation.Syntax.GetLocation(), operation.Syntax.ToString(), null, null, ForP2P: true));
    }

    // A written property with a body is followed into its setter, which reports the field it writes.
    private static bool IsAutoProperty(IPropertySymbol property) =>
        property.ContainingType.GetMembers().OfType<IFieldSymbol>().Any(f => SymbolEqualityComparer.Default.Equals(f.AssociatedSymbol, property));

    private static Finding Ordered(DiagnosticDescriptor descriptor, IOperation operation, string what, string? detail, string? replacement) =>
        Finding.Ordered(descriptor, operation, what, detail, replacement);
}
