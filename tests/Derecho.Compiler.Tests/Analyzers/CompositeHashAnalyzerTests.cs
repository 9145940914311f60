using Derecho.Analyzers;
using Microsoft.CodeAnalysis.Testing;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>
/// DER0010 for generated hashes that differ per process: tuples (System.HashCode inside), record classes
/// (their Type's identity hash inside), structs without their own GetHashCode (ValueType's), and record
/// structs or anonymous types with such a member (a string, most often); DER0006 for hash collections keyed by them.
/// </summary>
public class CompositeHashAnalyzerTests
{
    private static Task Verify(string members, string others = "", params DiagnosticResult[] expected) =>
        AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>(members, others, expected);

    private const string Types = """
        public record Key(string Name, int N);
        public record Numbered(int N);
        public record struct Tag(string Name);
        public record struct Outer(Tag Inner, int X);
        public record struct Point(int X, int Y);
        public record struct Listed(List<int> Items);
        public struct Pair { public int A; public int B; }
        public record Stable(string Name) { public virtual bool Equals(Stable? other) => other?.Name == Name; public override int GetHashCode() => Derecho.Layout.StableHash.Of(Name); }
        public struct Hashed { public string A; public override int GetHashCode() => Derecho.Layout.StableHash.Of(A ?? ""); }
        public record Numbered2(int N, long M) : Stable("n");
        public record Named2(int N, string Label) : Stable("n");
        public record OnKey(int X) : Key("k", 1);
        """;

    [Theory]
    [InlineData("{|DER0010:new Key(name, 1).GetHashCode()|}")]
    [InlineData("{|DER0010:new Numbered(1).GetHashCode()|}")]
    [InlineData("{|DER0010:new Tag(name).GetHashCode()|}")]
    [InlineData("{|DER0010:new Outer(new Tag(name), 1).GetHashCode()|}")]
    [InlineData("{|DER0010:new Listed(new List<int>()).GetHashCode()|}")]
    [InlineData("{|DER0010:new Pair { A = 1 }.GetHashCode()|}")]
    [InlineData("{|DER0010:new { name, n = 1 }.GetHashCode()|}")]
    [InlineData("{|DER0010:(name, 1).GetHashCode()|}")]
    [InlineData("{|DER0010:(1, 2L).GetHashCode()|}")]
    [InlineData("{|DER0010:new KeyValuePair<int, int>(1, 2).GetHashCode()|}")]
    [InlineData("{|DER0010:EqualityComparer<Tag>.Default.GetHashCode(new Tag(name))|}")]
    [InlineData("{|DER0010:new Named2(1, name).GetHashCode()|}")] // a stable base, but a string field of its own
    [InlineData("{|DER0010:new OnKey(1).GetHashCode()|}")] // its generated hash starts from the base record's, which mixes in the Type's
    public Task Generated_hashes_that_differ_per_process_are_flagged(string expression) =>
        Verify($"[Ordered] public int A(string name) => {expression};", Types);

    [Fact]
    public Task The_message_says_which_member_makes_the_hash_differ() => Verify("""
        [Ordered] public int A(string name) => Router.ShardOf(new Tag(name), 4);
        """, Types + """
        public static class Router
        {
            public static int ShardOf(Tag tag, int shards) => ({|#0:tag.GetHashCode()|} & 0x7fffffff) % shards;
        }
        """,
        new DiagnosticResult(Descriptors.ProcessHash).WithLocation(0).WithArguments("tag.GetHashCode()", "A",
            "; its generated hash combines the hash of 'Name' (string), which differs per process: use StableHash.Combine over its members", " (reached through `Router.ShardOf`)"));

    [Fact]
    public Task Ordering_by_a_tuple_hash_in_a_lambda_and_enumerating_collections_keyed_by_them_are_flagged() => Verify("""
        private readonly List<string> _names = new();
        private readonly Dictionary<(int, int), string> _cells = new();
        private readonly HashSet<Key> _keys = new();
        [Ordered] public string A()
        {
            var n = 0;
            foreach (var key in {|DER0006:_keys|}) n += key.N;
            return _names.OrderBy(s => {|DER0010:(s, s.Length).GetHashCode()|}).First() + {|DER0006:_cells.Select(c => c.Value)|}.First() + n;
        }
        """, Types);

    [Fact]
    public Task Stable_generated_hashes_own_hashes_p2p_constructors_unreachable_code_and_lookups_are_fine() => Verify("""
        private readonly Dictionary<Point, int> _byPoint = new();
        private readonly Dictionary<Key, int> _byKey = new();
        private readonly int _seed = new Key("x", 1).GetHashCode();
        public Subject() { _value = ("a", 1).GetHashCode(); }
        [P2PCallable] public int Read(string name) => new Tag(name).GetHashCode() + (name, 1).GetHashCode();
        public int NotAHandler(string name) => new Key(name, 1).GetHashCode();
        [Ordered] public int A(string name, long id) =>
            new Point(1, 2).GetHashCode() + new { id, day = DayOfWeek.Monday, at = new DateTime(2020, 1, 1), g = Guid.Empty, d = 1.5m, o = (int?)3 }.GetHashCode()
            + new Stable(name).GetHashCode() + new Hashed { A = name }.GetHashCode() + EqualityComparer<Point>.Default.GetHashCode(new Point(1, 1))
            + new Numbered2(1, 2).GetHashCode() // a derived record over a base that hashes stably, with stable fields of its own
            + (_byKey.TryGetValue(new Key(name, 1), out var v) ? v : 0) + _byPoint.Count + _byPoint.Values.Sum();
        """, Types);
}
