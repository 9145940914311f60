using Derecho.Analyzers;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>DER0006 stays quiet where the code makes the order deterministic, and fires for identity-hashed keys.</summary>
public class DeterministicOrderAnalyzerTests
{
    private static Task Verify(string members, string others = "") => AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>(members, others);

    [Fact]
    public Task Sorted_enumeration_sorted_collections_and_lookups_are_fine() => Verify("""
        private readonly Dictionary<string, int> _scores = new();
        private readonly HashSet<string> _tags = new();
        private readonly SortedDictionary<string, int> _sorted = new();
        private readonly SortedSet<string> _set = new();
        private System.Collections.Immutable.ImmutableSortedDictionary<string, int> _immutable = System.Collections.Immutable.ImmutableSortedDictionary<string, int>.Empty;
        private System.Collections.Immutable.ImmutableSortedSet<string> _immutableSet = System.Collections.Immutable.ImmutableSortedSet<string>.Empty;
        [Ordered] public string A(string key)
        {
            var first = _scores.OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value).First().Key;
            var best = _scores.Where(p => p.Value > 0).Select(p => p.Key).Order(StringComparer.Ordinal).FirstOrDefault();
            var tags = _tags.ToArray();
            Array.Sort(tags, StringComparer.Ordinal);
            var keys = _scores.Keys.ToList();
            keys.Sort(StringComparer.Ordinal);
            var n = _scores.Count(p => p.Value > 1) + (_tags.Any() ? 1 : 0) + _scores.Values.Sum() + (_tags.Contains(key) ? 1 : 0);
            n += _scores.TryGetValue(key, out var v) ? v : 0;
            foreach (var p in _sorted) n += p.Value;
            foreach (var s in _set) n += s.Length;
            foreach (var p in _immutable) n += p.Value;
            foreach (var s in _immutableSet) n += s.Length;
            return first + best + string.Join(",", tags) + string.Join(",", keys) + n;
        }
        """);

    [Fact]
    public Task State_enumerated_through_a_local_is_flagged_and_sorted_through_one_is_not() => Verify("""
        private readonly Dictionary<string, int> _scores = new();
        private readonly HashSet<string> _tags = new();
        [Ordered] public string A()
        {
            var scores = _scores;
            var n = 0;
            foreach (var p in {|DER0006:scores|}) n += p.Value;
            var tags = _tags;
            var sorted = tags.Order(StringComparer.Ordinal).ToList();
            return {|DER0006:string.Join(",", tags)|} + string.Join(",", sorted) + n + scores.Count;
        }
        """);

    [Fact]
    public Task Copies_that_are_never_sorted_and_identity_keyed_sets_are_flagged() => Verify("""
        private readonly HashSet<string> _tags = new();
        private readonly HashSet<Node> _nodes = new();
        [Ordered] public string A()
        {
            var tags = {|DER0006:_tags.ToArray()|};
            var n = 0;
            foreach (var node in {|DER0006:_nodes|}) n++;
            return tags[0] + {|DER0006:_tags.Where(t => t.Length > 0)|}.First() + {|DER0006:_tags.Select(t => t.Length)|}.Take(2).Count() + n;
        }
        """, "public sealed class Node { }");

    [Fact]
    public Task Enumerating_in_a_helper_of_another_type_is_flagged() => Verify("""
        private readonly HashSet<string> _tags = new();
        [Ordered] public string A() => Render.Csv(_tags);
        """, """
        internal static class Render
        {
            public static string Csv(HashSet<string> tags) => string.Join(",", {|DER0006:tags.Select(t => t.Trim())|});
        }
        """);
}
