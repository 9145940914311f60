using Derecho.Analyzers;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>DER0005 through calls, refs, indexers and members of a static's object.</summary>
public class StaticMutationAnalyzerTests
{
    private static Task Verify(string members, string others = "") => AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>(members, others);

    private const string Statics = """
        private static readonly List<string> s_names = new();
        private static readonly Dictionary<string, int> s_counts = new();
        private static readonly int[] s_slots = new int[4];
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> s_cache = new();
        private static long s_sequence;
        private static string s_label = "";
        public static int Limit { get; set; }
        """;

    [Theory]
    [InlineData("{|DER0005:s_names.Add(name)|};")]
    [InlineData("{|DER0005:s_names.Clear()|};")]
    [InlineData("{|DER0005:s_counts[name] = 1|};")]
    [InlineData("{|DER0005:s_slots[0] = 1|};")]
    [InlineData("{|DER0005:s_slots[0]++|};")]
    [InlineData("{|DER0005:s_cache.GetOrAdd(name, n => n.Length)|};")]
    [InlineData("{|DER0005:Interlocked.Increment(ref s_sequence)|};")]
    [InlineData("{|DER0005:Limit = 3|};")]
    public Task Static_state_changed_through_calls_and_members_is_flagged(string statement) =>
        Verify(Statics + $"[Ordered] public void A(string name) {{ {statement} }}");

    [Fact]
    public Task A_static_cache_in_another_type_or_changed_in_a_lambda_is_flagged() => Verify("""
        private static readonly List<int> s_seen = new();
        [Ordered] public int A(string name) { new[] { 1 }.ToList().ForEach(i => {|DER0005:s_seen.Add(i)|}); return Memo.Length(name); }
        """, """
        internal static class Memo
        {
            private static readonly Dictionary<string, int> s_lengths = new();
            public static int Length(string name)
            {
                if (!s_lengths.TryGetValue(name, out var length)) {|DER0005:s_lengths[name] = length = name.Length|};
                return length;
            }
        }
        """);

    [Fact]
    public Task Reading_static_state_and_immutable_statics_and_non_ordered_code_are_fine() => Verify(Statics + """
        public Subject() { s_names.Add("x"); }
        [P2PCallable] public int Read() { s_names.Add("p2p"); return s_names.Count; }
        public void Unreachable() => s_counts["x"] = 1;
        [Ordered] public long A(string name) =>
            s_names.Count + (s_counts.TryGetValue(name, out var n) ? n : 0) + s_slots[0] + Volatile.Read(ref s_sequence)
            + s_label.Replace("a", "b").Length + (s_names.Contains(name) ? 1 : 0) + Limit;
        """);
}
