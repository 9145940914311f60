using Derecho.Analyzers;
using Microsoft.CodeAnalysis.Testing;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>
/// Calls through interfaces and virtual or abstract methods reach every implementation or override of the
/// compilation; the path shows the member called and the implementation reached.
/// </summary>
public class DispatchAnalyzerTests
{
    private static Task Verify(string members, string others, params DiagnosticResult[] expected) =>
        AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>(members, others, expected);

    private const string Pricers = """
        public interface IPricer { long Price(long amount); string Describe(); }
        internal sealed class FlatPricer : IPricer
        {
            public long Price(long amount) => amount;
            public string Describe() => Environment.MachineName;
        }
        internal sealed class SeasonalPricer : IPricer
        {
            long IPricer.Price(long amount) => amount * {|#0:DateTime.UtcNow|}.Month;
            public string Describe() => "seasonal";
        }
        """;

    [Fact]
    public Task An_interface_call_reaches_every_implementation_with_the_path_shown() => Verify("""
        private readonly IPricer _pricer = new FlatPricer();
        [Ordered] public long Quote(long amount) => _value = _pricer.Price(amount);
        """, Pricers,
        new DiagnosticResult(Descriptors.WallClock).WithLocation(0)
            .WithArguments("DateTime.UtcNow", "Quote", "; use OrderedContext.Timestamp, the call's agreed time", " (reached through `IPricer.Price` → `SeasonalPricer.Price`)"));

    [Fact]
    public Task An_interface_call_in_a_helper_of_another_type_is_followed() => Verify("""
        private readonly List<IPricer> _pricers = new();
        [Ordered] public long Quote(long amount) => Quotes.Best(_pricers, amount);
        """, Pricers + """
        internal static class Quotes
        {
            public static long Best(List<IPricer> pricers, long amount)
            {
                var best = long.MaxValue;
                foreach (var pricer in pricers) best = Math.Min(best, pricer.Price(amount));
                return best;
            }
        }
        """,
        new DiagnosticResult(Descriptors.WallClock).WithLocation(0)
            .WithArguments("DateTime.UtcNow", "Quote", "; use OrderedContext.Timestamp, the call's agreed time", " (reached through `Quotes.Best` → `IPricer.Price` → `SeasonalPricer.Price`)"));

    [Fact]
    public Task Abstract_and_virtual_calls_reach_their_overrides_also_inside_a_lambda() => Verify("""
        private readonly List<Rule> _rules = new();
        [Ordered] public int Score(string s) => _rules.Sum(r => r.Score(s) * r.Weight);
        """, """
        public abstract class Rule
        {
            public abstract int Score(string s);
            public virtual int Weight => 1;
        }
        public class LengthRule : Rule { public override int Score(string s) => s.Length; }
        internal sealed class HashRule : Rule
        {
            public override int Score(string s) => {|#0:s.GetHashCode()|};
            public override int Weight => {|#1:Environment.ProcessorCount|};
        }
        internal sealed class LongerRule : LengthRule { public override int Score(string s) => base.Score(s) + {|#2:Random.Shared|}.Next(); }
        """,
        new DiagnosticResult(Descriptors.ProcessHash).WithLocation(0).WithArguments("string.GetHashCode()", "Score",
            "; string hashes are randomized per process: use StableHash.Of (XxHash64 of the UTF-8 bytes)", " (reached through `Rule.Score` → `HashRule.Score`)"),
        new DiagnosticResult(Descriptors.MachineFact).WithLocation(1).WithArguments("Environment.ProcessorCount", "Score", " (reached through `Rule.Weight` → `HashRule.Weight`)"),
        new DiagnosticResult(Descriptors.Randomness).WithLocation(2).WithArguments("Random.Shared", "Score",
            "; use OrderedContext.Random, seeded from the call's place in the total order", " (reached through `Rule.Score` → `LongerRule.Score`)"));

    [Fact]
    public Task Generic_interfaces_and_interface_properties_reach_their_implementations() => Verify("""
        private readonly IStore<string> _store = new NameStore();
        [Ordered] public string A(string key) => _store.Get(key) + _store.Label;
        """, """
        public interface IStore<T> { T Get(string key); string Label { get; } }
        internal sealed class NameStore : IStore<string>
        {
            public string Get(string key) => key + {|DER0011:Environment.ProcessId|};
            public string Label => {|DER0011:Environment.MachineName|};
        }
        internal sealed class CountStore : IStore<int>
        {
            public int Get(string key) => {|DER0010:key.GetHashCode()|};
            public string Label => "count";
        }
        """);

    [Fact]
    public Task P2P_handlers_constructors_concrete_calls_base_calls_and_other_members_do_not_reach_the_implementations() => Verify("""
        private readonly IPricer _pricer;
        private readonly Rule _rule = new Plus();
        public Subject() { _pricer = new FlatPricer(); _value = _pricer.Price(1); }
        [P2PCallable] public long Read(long amount) => _pricer.Price(amount);
        [Ordered] public long A(long amount, string s) => new FlatPricer().Price(amount) + new Plus().Score(s) + _pricer.Describe().Length;
        public long NotAHandler(string s) => _rule.Score(s);
        """, """
        public interface IPricer { long Price(long amount); string Describe(); }
        internal sealed class FlatPricer : IPricer
        {
            public long Price(long amount) => amount;
            public string Describe() => "flat";
        }
        internal sealed class SeasonalPricer : IPricer
        {
            public long Price(long amount) => amount * DateTime.UtcNow.Month;
            public string Describe() => "seasonal";
        }
        internal sealed class NotAPricer { public long Price(long amount) => amount * DateTime.UtcNow.Month; }
        public class Rule { public virtual int Score(string s) => s.Length; }
        internal sealed class Clocked : Rule { public override int Score(string s) => DateTime.UtcNow.Second; }
        internal sealed class Plus : Rule { public override int Score(string s) => base.Score(s) + 1; }
        """);
}
