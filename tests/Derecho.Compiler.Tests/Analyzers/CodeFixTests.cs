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
    [InlineData("{|DER0002:Guid.CreateVersion7()|}.GetHashCode()", "OrderedContext.NewGuid().GetHashCode()")]
    [InlineData("{|DER0010:_value.ToString().GetHashCode()|}", "Derecho.Layout.StableHash.Of(_value.ToString())")]
    [InlineData("{|DER0010:HashCode.Combine(_value, \"a\")|}", "Derecho.Layout.StableHash.Combine(_value, \"a\")")]
    [InlineData("{|DER0010:(_value, \"a\").GetHashCode()|}", "Derecho.Layout.StableHash.Combine(_value, \"a\")")]
    public Task Replaces_with_the_deterministic_equivalent(string before, string after) =>
        AnalyzerTest.Fix($"[Ordered] public long A() => {before};", $"[Ordered] public long A() => {after};");

    [Fact]
    public Task A_tuple_held_in_a_local_hashes_its_elements_and_one_with_an_unstable_element_gets_no_fix() => AnalyzerTest.Fix(
        "[Ordered] public long A(string key) { var pair = (key, 1); var keyed = (new Node(), 1); return {|DER0010:pair.GetHashCode()|} + {|DER0010:keyed.GetHashCode()|} + {|DER0010:HashCode.Combine(new Node())|} + {|DER0010:Make(key).GetHashCode()|}; } private static (string, int) Make(string k) => (k, 1); private sealed class Node { }",
        "[Ordered] public long A(string key) { var pair = (key, 1); var keyed = (new Node(), 1); return Derecho.Layout.StableHash.Combine(pair.Item1, pair.Item2) + {|DER0010:keyed.GetHashCode()|} + {|DER0010:HashCode.Combine(new Node())|} + {|DER0010:Make(key).GetHashCode()|}; } private static (string, int) Make(string k) => (k, 1); private sealed class Node { }");

    [Fact]
    public Task Fixes_a_hash_in_a_helper_of_the_same_type() => AnalyzerTest.Fix(
        "[Ordered] public long A(string key) => Shard(key); private static int Shard(string key) => {|DER0010:key.GetHashCode()|} % 4;",
        "[Ordered] public long A(string key) => Shard(key); private static int Shard(string key) => Derecho.Layout.StableHash.Of(key) % 4;");
}
