using Derecho.Analyzers;
using Microsoft.CodeAnalysis.Testing;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>
/// DER0006 where a hash collection's order is copied into something ordered without a LINQ call or a foreach:
/// string.Join/Concat, List.AddRange/InsertRange, StringBuilder.AppendJoin, CopyTo, list/queue/stack
/// constructors, immutable ordered collections, collection-expression spreads.
/// </summary>
public class HashOrderSinkAnalyzerTests
{
    private static Task Verify(string members, string others = "", params DiagnosticResult[] expected) =>
        AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>(members, others, expected);

    private const string State = """
        private readonly HashSet<string> _tags = new();
        private readonly Dictionary<string, int> _scores = new();
        private readonly Dictionary<int, string> _byId = new();
        private readonly SortedSet<string> _sorted = new();
        private readonly SortedDictionary<string, HashSet<string>> _groups = new();
        private readonly List<string> _log = new();
        """;

    [Theory]
    [InlineData("{|DER0006:string.Join(\",\", _tags)|}")]
    [InlineData("{|DER0006:string.Join(\",\", _scores.Keys)|}")]
    [InlineData("{|DER0006:string.Join(\";\", _scores)|}")]
    [InlineData("{|DER0006:string.Concat(_tags)|}")]
    [InlineData("{|DER0006:new System.Text.StringBuilder().AppendJoin(\",\", _tags)|}.ToString()")]
    [InlineData("{|DER0006:new List<string>(_tags)|}[0]")]
    [InlineData("{|DER0006:new Queue<string>(_scores.Keys)|}.Peek()")]
    [InlineData("{|DER0006:System.Collections.Immutable.ImmutableArray.CreateRange(_tags)|}[0]")]
    [InlineData("{|DER0006:System.Collections.Immutable.ImmutableList.ToImmutableList(_tags)|}[0]")]
    public Task Copying_hash_order_into_a_string_or_an_ordered_collection_is_flagged(string expression) =>
        Verify(State + $"[Ordered] public string A() => {expression};");

    [Fact]
    public Task Into_a_list_by_AddRange_CopyTo_or_a_spread_is_flagged_also_inside_a_lambda() => Verify(State + """
        [Ordered] public string A()
        {
            {|DER0006:_log.AddRange(_tags)|};
            {|DER0006:_log.InsertRange(0, _scores.Keys)|};
            var array = new string[_tags.Count];
            {|DER0006:_tags.CopyTo(array)|};
            List<string> spread = {|DER0006:[.. _tags, "end"]|};
            return string.Join("|", _groups.Select(g => {|DER0006:string.Join(",", g.Value)|})) + array[0] + spread[0];
        }
        """);

    [Fact]
    public Task Copying_in_a_helper_of_another_type_is_flagged_with_the_path() => Verify(State + """
        [Ordered] public string A() => _log[0] = Render.Csv(_tags);
        """, """
        internal static class Render
        {
            public static string Csv(HashSet<string> tags) => {|#0:string.Join(",", tags)|};
        }
        """,
        new DiagnosticResult(Descriptors.HashOrderEnumeration).WithLocation(0).WithArguments("tags", "A", " (reached through `Render.Csv`)"));

    private const string Render = """
        internal static class Render
        {
            public static string Csv(IEnumerable<string> items) => {|#0:string.Join(",", items)|};
            public static string First(IEnumerable<string> items) { foreach (var item in {|#1:items|}) return item; return ""; }
            public static string Joined(IReadOnlyCollection<string> items) => Lines(items);
            private static string Lines(IEnumerable<string> items) => string.Concat({|#2:items.Select(i => i + "\n")|});
            public static string Sorted(IEnumerable<string> items) => string.Join(",", items.Order(StringComparer.Ordinal));
            public static int Count(IEnumerable<string> items) => items.Count();
        }
        """;

    [Fact]
    public Task A_hash_collection_passed_as_a_sequence_to_a_helper_that_copies_or_enumerates_it_is_flagged() => Verify(State + """
        [Ordered] public string A() => Render.Csv(_tags) + Render.First(_scores.Keys) + Render.Joined(_tags);
        """, Render,
        new DiagnosticResult(Descriptors.HashOrderEnumeration).WithLocation(0).WithArguments("items", "A", " (reached through `Render.Csv`)"),
        new DiagnosticResult(Descriptors.HashOrderEnumeration).WithLocation(1).WithArguments("items", "A", " (reached through `Render.First`)"),
        new DiagnosticResult(Descriptors.HashOrderEnumeration).WithLocation(2).WithArguments("items", "A", " (reached through `Render.Joined` → `Render.Lines`)"));

    [Fact]
    public Task Helpers_given_sorted_or_ordered_sequences_or_answering_order_free_are_fine() => Verify(State + """
        [P2PCallable] public string Read() => Render.Csv(_tags);
        [Ordered] public string A() => Render.Sorted(_tags) + Render.Count(_tags) + Render.Csv(_sorted) + Render.First(_log) + Render.Joined(_byId.Values);
        """, System.Text.RegularExpressions.Regex.Replace(Render, @"\{\|#\d+:(.*?)\|\}", "$1"));

    [Fact]
    public Task Sorted_copies_order_free_targets_int_keys_logging_p2p_constructors_and_unreachable_code_are_fine() => Verify(State + """
        public Subject() { _log.AddRange(_tags); }
        [P2PCallable] public string Read() => string.Join(",", _tags);
        public string NotAHandler() => string.Concat(_tags);
        [Ordered] public string A(Microsoft.Extensions.Logging.ILogger logger)
        {
            var copy = new List<string>(_tags);
            copy.Sort(StringComparer.Ordinal);
            var more = new List<string>();
            more.AddRange(_scores.Keys);
            more.Sort(StringComparer.Ordinal);
            List<string> spread = [.. _tags];
            spread.Sort(StringComparer.Ordinal);
            var union = new HashSet<string>(_tags);
            union.UnionWith(_scores.Keys);
            var ordered = new SortedSet<string>(_tags, StringComparer.Ordinal);
            var byKey = new SortedDictionary<string, int>(_scores, StringComparer.Ordinal);
            var again = new Dictionary<string, int>(_scores);
            HashSet<string> set = [.. _tags];
            Console.WriteLine("tags: " + string.Join(",", _tags));
            Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger, $"tags {string.Join(",", _tags)}");
            return string.Join(",", copy) + string.Join(",", more) + string.Join(",", spread) + union.Count + ordered.Min + byKey.Count + again.Count + set.Count
                + string.Join(",", _sorted) + string.Join(",", _byId.Values) + string.Join(",", _tags.Order(StringComparer.Ordinal));
        }
        """);
}
