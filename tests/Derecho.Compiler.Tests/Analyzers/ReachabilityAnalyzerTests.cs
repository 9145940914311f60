using Derecho.Analyzers;
using Microsoft.CodeAnalysis.Testing;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>Handlers reach helpers, extension methods, constructors and properties of other types; the message shows the path.</summary>
public class ReachabilityAnalyzerTests
{
    [Fact]
    public Task The_path_through_other_types_is_in_the_message() => AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>("""
        [Ordered] public long Buy(long amount) => _value = Pricing.Quote(amount);
        """, """
        internal static class Pricing
        {
            public static long Quote(long amount) => amount * (Clock.Now.Hour < 12 ? 1 : 2);
        }
        internal static class Clock
        {
            public static DateTime Now => {|#0:DateTime.UtcNow|};
        }
        """,
        new DiagnosticResult(Descriptors.WallClock).WithLocation(0)
            .WithArguments("DateTime.UtcNow", "Buy", "; use OrderedContext.Timestamp, the call's agreed time", " (reached through `Pricing.Quote` → `Clock.Now`)"));

    [Fact]
    public Task Calls_on_objects_the_replica_holds_in_fields_are_followed_with_the_path() => AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>("""
        private readonly Pricer _pricer = new();
        private Ledger Books { get; } = new();
        [Ordered] public long Buy(long amount) => _value = _pricer.Quote(amount) + Books.Fee;
        """, """
        internal sealed class Pricer
        {
            private readonly Random _random = new(7);
            public long Quote(long amount) => amount * (Hour() < 12 ? 1 : 2) + _random.Next(2);
            private int Hour() => {|#0:DateTime.Now|}.Hour;
        }
        internal sealed class Ledger
        {
            public long Fee => {|#1:Environment.ProcessorCount|};
        }
        """,
        new DiagnosticResult(Descriptors.WallClock).WithLocation(0)
            .WithArguments("DateTime.Now", "Buy", "; use OrderedContext.Timestamp, the call's agreed time (UTC)", " (reached through `Pricer.Quote` → `Pricer.Hour`)"),
        new DiagnosticResult(Descriptors.MachineFact).WithLocation(1)
            .WithArguments("Environment.ProcessorCount", "Buy", " (reached through `Ledger.Fee`)"));

    [Fact]
    public Task Extension_methods_constructors_local_functions_and_setters_are_followed() => AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>("""
        [Ordered] public long A(long x)
        {
            var stamp = new Stamp();
            var box = new Box { Value = x };
            return x.Jitter() + stamp.Ticks + Local() + box.Value;
            long Local() => {|DER0011:Environment.ProcessId|};
        }
        """, """
        internal static class LongExtensions
        {
            public static long Jitter(this long x) => x + {|DER0002:Random.Shared|}.Next();
        }
        internal sealed class Stamp
        {
            public Stamp() => Ticks = {|DER0001:Environment.TickCount64|};
            public long Ticks { get; }
        }
        internal sealed class Box
        {
            private long _value;
            public long Value { get => _value; set => _value = value + {|DER0011:Environment.ProcessorCount|}; }
        }
        """);

    [Fact]
    public Task Helpers_reached_only_from_p2p_handlers_or_nothing_are_not_flagged() => AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>("""
        [P2PCallable] public long Read() => Pricing.Quote(_value);
        [Ordered] public long Add(long d) => _value += Pricing.Fixed(d);
        """, """
        internal static class Pricing
        {
            public static long Quote(long amount) => amount * DateTime.UtcNow.Hour;
            public static long Fixed(long amount) => amount * 2;
            public static long Unused() => Environment.ProcessorCount;
        }
        """);

    [Fact]
    public Task P2P_reaching_another_types_own_fields_is_not_a_replica_mutation() => AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>("""
        [P2PCallable] public long Read() => new Counter().Next();
        """, """
        internal sealed class Counter
        {
            private long _n;
            public long Next() => ++_n;
        }
        """);
}
