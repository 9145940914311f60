using Derecho.Analyzers;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>DER0011: facts about this machine or process.</summary>
public class MachineFactAnalyzerTests
{
    private static Task Verify(string members, string others = "") => AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>(members, others);

    [Theory]
    [InlineData("{|DER0011:Environment.ProcessorCount|}")]
    [InlineData("{|DER0011:Environment.MachineName|}.Length")]
    [InlineData("{|DER0011:Environment.ProcessId|}")]
    [InlineData("{|DER0011:Environment.CurrentManagedThreadId|}")]
    [InlineData("{|DER0011:Environment.OSVersion|}.Version.Major")]
    [InlineData("(int){|DER0011:Environment.WorkingSet|}")]
    [InlineData("{|DER0011:GC.CollectionCount(0)|}")]
    [InlineData("(int){|DER0011:GC.GetTotalMemory(false)|}")]
    [InlineData("(int){|DER0011:GC.GetTotalAllocatedBytes()|}")]
    [InlineData("{|DER0011:Thread.CurrentThread.ManagedThreadId|}")]
    [InlineData("{|DER0011:System.Runtime.InteropServices.RuntimeInformation.OSDescription|}.Length")]
    public Task Machine_and_process_facts_are_flagged(string expression) => Verify($"[Ordered] public int A() => {expression};");

    [Fact]
    public Task A_fact_read_by_a_helper_of_another_type_or_in_a_lambda_is_flagged() => Verify("""
        [Ordered] public int A() => Sizing.Workers() + new[] { 1 }.Sum(x => x * {|DER0011:Environment.ProcessorCount|});
        """, """
        internal static class Sizing
        {
            public static int Workers() => Math.Max(1, {|DER0011:Environment.ProcessorCount|} / 2);
        }
        """);

    [Fact]
    public Task Facts_outside_ordered_handlers_and_gc_hints_are_fine() => Verify("""
        public Subject() { _value = Environment.ProcessorCount; }
        [P2PCallable] public string Where() => Environment.MachineName;
        public int Unreachable() => Environment.ProcessId;
        [Ordered] public void A() { GC.KeepAlive(_gate); _value++; }
        """);
}
