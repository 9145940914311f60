using Derecho.Analyzers;
using Microsoft.CodeAnalysis.Testing;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>
/// DER0007 (and DER0013, its trigger twin) beyond assignments: collections and arrays the replica's fields
/// hold, changed in place, by the handler or by helpers of any type the replica's state is passed to.
/// </summary>
public class P2PMutationAnalyzerTests
{
    private static Task Verify(string members, string others = "", params DiagnosticResult[] expected) =>
        AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>(members, others, expected);

    private const string State = """
        private readonly List<string> _names = new();
        private readonly Dictionary<string, int> _counts = new();
        private readonly int[] _slots = new int[4];
        private System.Collections.Immutable.ImmutableList<string> _tags = System.Collections.Immutable.ImmutableList<string>.Empty;
        public Dictionary<string, int> Stock { get; } = new();
        public List<string> Names => _names;
        public string Label { get; set; } = "";
        """;

    private const string Bulk = """
        public static class Bulk
        {
            public static int Put(Dictionary<string, int> into, string name) { {|#0:into[name] = 1|}; return into.Count; }
            public static void Fill(List<string> list, string[] names) => AddAll(list, names);
            public static void AddAll(List<string> list, string[] names) => {|#1:list.AddRange(names)|};
            public static int Sum(Dictionary<string, int> counts) => counts.Values.Sum();
            public static void Copy(List<string> from, List<string> to) => to.AddRange(from);
            public static void AddUnique(this List<string> list, string name) { if (!list.Contains(name)) {|#2:list.Add(name)|}; }
        }
        public static class Audit
        {
            public static void Reset(Subject subject) { {|#3:subject.Names.Clear()|}; {|#4:subject.Label = ""|}; }
        }
        """;

    [Theory]
    [InlineData("{|DER0007:_names.Add(name)|};")]
    [InlineData("{|DER0007:_names.Clear()|};")]
    [InlineData("{|DER0007:Names.Remove(name)|};")]
    [InlineData("{|DER0007:_counts[name] = 1|};")]
    [InlineData("{|DER0007:_counts[name]++|};")]
    [InlineData("{|DER0007:Stock.Remove(name)|};")]
    [InlineData("{|DER0007:Stock[name] += 2|};")]
    [InlineData("{|DER0007:_slots[0] = 2|};")]
    [InlineData("{|DER0007:Array.Sort(_slots)|};")]
    [InlineData("{|DER0007:_tags = _tags.Add(name)|};")]
    public Task Changing_what_the_replicas_fields_hold_is_flagged(string statement) =>
        Verify(State + $"[P2PCallable] public int A(string name) {{ {statement} return 0; }}");

    [Fact]
    public Task State_passed_to_helpers_of_other_types_is_followed_with_the_path() => Verify(State + """
        [P2PCallable] public int A(string name) => Bulk.Put(_counts, name);
        [P2PCallable] public void B(string[] names) => Bulk.Fill(_names, names);
        [P2PCallable] public void C(string name) => _names.AddUnique(name);
        [P2PCallable] public void D() => Audit.Reset(this);
        """, Bulk,
        P2P(0, "into[name] = 1", "A", " (reached through `Bulk.Put`)"),
        P2P(1, "list.AddRange(names)", "B", " (reached through `Bulk.Fill` → `Bulk.AddAll`)"),
        P2P(2, "list.Add(name)", "C", " (reached through `Bulk.AddUnique`)"),
        P2P(3, "subject.Names.Clear()", "D", " (reached through `Audit.Reset`)"),
        P2P(4, "subject.Label = \"\"", "D", " (reached through `Audit.Reset`)"));

    [Fact]
    public Task Changes_inside_a_lambda_and_through_an_own_helper_are_flagged() => Verify(State + """
        [P2PCallable] public void A(string[] names) => Array.ForEach(names, n => {|DER0007:_names.Add(n)|});
        [P2PCallable] public int B(string name) => Count(_counts, name);
        private static int Count(Dictionary<string, int> counts, string name) => {|DER0007:counts[name] = counts.Count|};
        """);

    [Fact]
    public Task State_held_by_a_local_is_the_state_changed_in_place_through_it_or_a_helper() => Verify(State + """
        [P2PCallable] public void A(string name) { var names = _names; {|DER0007:names.Add(name)|}; }
        [P2PCallable] public void B(string name) { var counts = Stock; counts.TryGetValue(name, out var n); {|DER0007:counts[name] = n + 1|}; }
        [P2PCallable] public void C(string name) { List<string> names; names = Names; {|DER0007:names.Clear()|}; }
        [P2PCallable] public int D(string name) { var counts = _counts; return Bulk.Put(counts, name); }
        [P2PCallable] public void E() { var slots = _slots; {|DER0007:slots[1] = 3|}; }
        """, Bulk, P2P(0, "into[name] = 1", "D", " (reached through `Bulk.Put`)"));

    [Fact]
    public Task A_local_that_holds_a_copy_or_a_fresh_object_may_change() => Verify(State + """
        [P2PCallable] public int A(string name)
        {
            var names = _names.ToList();
            names.Add(name);
            var counts = new Dictionary<string, int>(_counts);
            counts[name] = 1;
            var slots = (int[])_slots.Clone();
            slots[0] = 1;
            var other = _names;
            other = new List<string>();
            other.Add(name);
            return names.Count + counts.Count + slots[0] + Bulk.Put(counts, name);
        }
        """, Unmarked(Bulk));

    [Fact]
    public Task A_trigger_that_passes_state_to_a_helper_is_flagged() => Verify(State + """
        [Trigger] public void T(string name) => Tally.Put(_counts, name);
        """, """
        public static class Tally { public static void Put(Dictionary<string, int> into, string name) => {|DER0013:into[name] = 1|}; }
        """);

    [Fact]
    public Task A_trigger_may_change_its_own_concurrent_collections_a_p2p_handler_may_not() => Verify("""
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _seen = new();
        [Trigger] public void T(string name) { _seen[name] = 1; _seen.TryAdd(name, 2); }
        [P2PCallable] public void P(string name) { {|DER0007:_seen[name] = 1|}; {|DER0007:_seen.TryAdd(name, 2)|}; }
        """);

    [Fact]
    public Task Reads_copies_fresh_objects_ordered_handlers_constructors_and_unreachable_code_are_fine() => Verify(State + """
        public Subject() { _names.Add("x"); Bulk.Put(_counts, "y"); Audit.Reset(this); }
        [Ordered] public int O(string name) { _names.Add(name); _counts[name] = 1; _slots[0] = 1; Bulk.Put(_counts, name); return 0; }
        public void NotAHandler(string name) { _names.Add(name); Bulk.Fill(_names, [name]); }
        [P2PCallable] public int A(string name)
        {
            var copy = _names.ToList();
            copy.Add(name);
            var fresh = new Dictionary<string, int>(_counts);
            fresh[name] = 2;
            var local = new List<string>();
            Bulk.Copy(_names, local);
            _ = _tags.Add(name);
            return Bulk.Put(fresh, name) + Bulk.Put(new Dictionary<string, int>(), name) + Bulk.Sum(_counts) + _slots[0]
                + (_names.Contains(name) ? 1 : 0) + (_counts.TryGetValue(name, out var n) ? n : 0);
        }
        """, Unmarked(Bulk));

    private static DiagnosticResult P2P(int location, string what, string handler, string through) =>
        new DiagnosticResult(Descriptors.P2PMutation).WithLocation(location).WithArguments(what, handler, through);

    private static string Unmarked(string source) => System.Text.RegularExpressions.Regex.Replace(source, @"\{\|#\d+:(.*?)\|\}", "$1");
}
