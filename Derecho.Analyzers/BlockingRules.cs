using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

/// <summary>DER0012: waits in an ordered handler. Not divergence, but the shard delivers nothing meanwhile.</summary>
internal static class BlockingRules
{
    private static readonly HashSet<string> Methods = new()
    {
        "System.Threading.Thread.Sleep", "System.Threading.Thread.Join", "System.Threading.Thread.SpinWait",
        "System.Threading.Tasks.Task.Wait", "System.Threading.Tasks.Task.WaitAll", "System.Threading.Tasks.Task.WaitAny",
        "System.Runtime.CompilerServices.TaskAwaiter.GetResult", "System.Runtime.CompilerServices.ValueTaskAwaiter.GetResult",
        "System.Runtime.CompilerServices.ConfiguredTaskAwaitable.ConfiguredTaskAwaiter.GetResult",
        "System.Runtime.CompilerServices.ConfiguredValueTaskAwaitable.ConfiguredValueTaskAwaiter.GetResult",
        "System.Threading.Monitor.Enter", "System.Threading.Monitor.TryEnter", "System.Threading.Monitor.Wait",
        "System.Threading.WaitHandle.WaitOne", "System.Threading.WaitHandle.WaitAll", "System.Threading.WaitHandle.WaitAny",
        "System.Threading.SemaphoreSlim.Wait", "System.Threading.ManualResetEventSlim.Wait", "System.Threading.CountdownEvent.Wait",
        "System.Threading.Barrier.SignalAndWait", "System.Threading.SpinWait.SpinUntil", "System.Threading.Lock.Enter",
        "System.Collections.Concurrent.BlockingCollection.Take",
    };

    public static void Invocation(IInvocationOperation operation, List<Finding> findings)
    {
        var method = operation.TargetMethod;
        if (Methods.Contains(KnownSymbols.NameOf(method.ContainingType) + "." + method.Name))
            findings.Add(Finding.Ordered(Descriptors.Blocking, operation, method.ShortName() + "()"));
    }

    public static void PropertyReference(IPropertyReferenceOperation operation, List<Finding> findings)
    {
        var type = KnownSymbols.NameOf(operation.Property.ContainingType);
        if (operation.Property.Name == "Result" && type is "System.Threading.Tasks.Task" or "System.Threading.Tasks.ValueTask")
            findings.Add(Finding.Ordered(Descriptors.Blocking, operation, operation.Syntax.ToString()));
    }

    /// <summary>
    /// A lock on anything but the replica's own objects (static ones are DER0003) can be held by code
    /// outside the replica for as long as it likes.
    /// </summary>
    public static void Lock(ILockOperation operation, List<Finding> findings)
    {
        var locked = operation.LockedValue.Unwrap();
        if (locked is IInstanceReferenceOperation or ITypeOfOperation || locked.StaticRoot() is not null) return;
        if (locked is IFieldReferenceOperation { Instance: IInstanceReferenceOperation }) return;
        findings.Add(Finding.Ordered(Descriptors.Blocking, locked, "lock (" + locked.Syntax + ")"));
    }
}
