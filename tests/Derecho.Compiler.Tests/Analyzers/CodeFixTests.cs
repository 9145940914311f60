namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>Code fixes replace non-deterministic sources with the runtime's deterministic ones.</summary>
public class CodeFixTests
{
    [Theory]
    [InlineData("{|DER0001:DateTime.UtcNow|}.Ticks", "OrderedContext.Timestamp.Ticks")]
    [InlineData("{|DER0001:DateTime.Now|}.Ticks", "OrderedContext.Timestamp.Ticks")]
    [InlineData("{|DER0001:DateTimeOffset.UtcNow|}.Ticks", "new DateTimeOffset(OrderedContext.Timestamp).Ticks")]
    [InlineData("{|DER0002:new Random()|}.Next()", "OrderedContext.Random.Next()")]
    [InlineData("{|DER0002:Random.Shared|}.Next()", "OrderedContext.Random.Next()")]
    [InlineData("{|DER0002:Guid.NewGuid()|}.GetHashCode()", "OrderedContext.NewGuid().GetHashCode()")]
    public Task Replaces_with_the_deterministic_equivalent(string before, string after) =>
        AnalyzerTest.Fix($"[Ordered] public long A() => {before};", $"[Ordered] public long A() => {after};");
}
