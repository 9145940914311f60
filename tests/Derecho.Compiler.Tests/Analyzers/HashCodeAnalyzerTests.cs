using Derecho.Analyzers;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>DER0010: hash codes that differ per process, and the hashes that do not.</summary>
public class HashCodeAnalyzerTests
{
    private static Task Verify(string members, string others = "") => AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>(members, others);

    [Theory]
    [InlineData("{|DER0010:name.GetHashCode()|}")]
    [InlineData("{|DER0010:name.GetHashCode(StringComparison.Ordinal)|}")]
    [InlineData("{|DER0010:string.GetHashCode(name.AsSpan())|}")]
    [InlineData("{|DER0010:StringComparer.Ordinal.GetHashCode(name)|}")]
    [InlineData("{|DER0010:EqualityComparer<string>.Default.GetHashCode(name)|}")]
    [InlineData("{|DER0010:HashCode.Combine(name, 1)|}")]
    [InlineData("{|DER0010:System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(name)|}")]
    [InlineData("{|DER0010:new Node().GetHashCode()|}")]
    [InlineData("{|DER0010:typeof(Subject).GetHashCode()|}")]
    public Task Per_process_hashes_are_flagged(string expression) =>
        Verify($"[Ordered] public int A(string name) => {expression};", "public sealed class Node { }");

    [Fact]
    public Task HashCode_Add_is_flagged() => Verify("""
        [Ordered] public int A(string name) { var hash = new HashCode(); {|DER0010:hash.Add(name)|}; return hash.ToHashCode(); }
        """);

    [Fact]
    public Task Routing_by_a_string_hash_in_a_helper_of_another_type_is_flagged() => Verify("""
        [Ordered] public int Route(string key) => Router.ShardOf(key, 4);
        """, """
        public static class Router
        {
            public static int ShardOf(string key, int shards) => ({|DER0010:key.GetHashCode()|} & 0x7fffffff) % shards;
        }
        """);

    [Fact]
    public Task Ordering_by_a_hash_inside_a_lambda_is_flagged() => Verify("""
        private readonly List<string> _names = new();
        [Ordered] public string A() => _names.OrderBy(n => {|DER0010:n.GetHashCode()|}).First();
        """);

    [Fact]
    public Task Stable_hashes_p2p_handlers_constructors_and_unreachable_code_are_fine() => Verify("""
        private readonly int _seed = "x".GetHashCode();
        public Subject() { _value = HashCode.Combine(1, 2); }
        [P2PCallable] public int Read(string name) => name.GetHashCode();
        public int NotAHandler(string name) => name.GetHashCode();
        [Ordered] public int A(string name, long id, Point p, DayOfWeek day) =>
            Derecho.Layout.StableHash.Of(name) + id.GetHashCode() + p.GetHashCode() + day.GetHashCode() + new Keyed(3).GetHashCode() + ((object)name).GetHashCode();
        """, """
        public record struct Point(int X, int Y);
        public sealed class Keyed(int id) { public override int GetHashCode() => id; public override bool Equals(object? o) => o is Keyed; }
        """);
}
