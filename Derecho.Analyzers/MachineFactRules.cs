using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

/// <summary>DER0011: facts about the machine or process, which differ between replicas by construction.</summary>
internal static class MachineFactRules
{
    private static readonly HashSet<string> Members = new()
    {
        "System.Environment.ProcessorCount", "System.Environment.MachineName", "System.Environment.ProcessId",
        "System.Environment.ProcessPath", "System.Environment.CurrentManagedThreadId", "System.Environment.OSVersion",
        "System.Environment.WorkingSet", "System.Environment.UserName", "System.Environment.UserDomainName",
        "System.Environment.SystemPageSize", "System.Environment.CurrentDirectory", "System.Environment.CommandLine",
        "System.Environment.GetCommandLineArgs", "System.Environment.Is64BitProcess", "System.Environment.Is64BitOperatingSystem",
        "System.Environment.SystemDirectory", "System.Environment.Version", "System.Environment.StackTrace",
        "System.Environment.GetLogicalDrives", "System.Environment.GetFolderPath", "System.Environment.IsPrivilegedProcess",
        "System.Threading.Thread.ManagedThreadId", "System.Threading.Thread.GetCurrentProcessorId",
        "System.AppContext.BaseDirectory", "System.AppDomain.BaseDirectory", "System.AppDomain.Id",
    };

    // Statistics only: GC.KeepAlive, SuppressFinalize and friends say nothing about the machine.
    private static readonly HashSet<string> GcStatistics = new()
    {
        "GetTotalMemory", "CollectionCount", "GetGeneration", "GetGCMemoryInfo", "GetTotalAllocatedBytes",
        "GetAllocatedBytesForCurrentThread", "GetTotalPauseDuration", "GetConfigurationVariables",
    };

    public static void Member(ISymbol member, IOperation operation, List<Finding> findings)
    {
        var type = KnownSymbols.NameOf(member.ContainingType);
        if (Members.Contains(type + "." + member.Name)
            || type == "System.GC" && GcStatistics.Contains(member.Name)
            || type == "System.Runtime.InteropServices.RuntimeInformation")
            findings.Add(Finding.Ordered(Descriptors.MachineFact, operation, member.ShortName()));
    }
}
