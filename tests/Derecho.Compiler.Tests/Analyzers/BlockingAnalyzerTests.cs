using Derecho.Analyzers;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>DER0012: waits that stall the shard while an ordered handler runs.</summary>
public class BlockingAnalyzerTests
{
    private static Task Verify(string members, string others = "") => AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>(members, others);

    [Theory]
    [InlineData("{|DER0012:Thread.Sleep(10)|};")]
    [InlineData("_value = {|DER0012:pending.Result|};")]
    [InlineData("{|DER0012:pending.Wait()|};")]
    [InlineData("_value = {|DER0012:pending.GetAwaiter().GetResult()|};")]
    [InlineData("{|DER0012:Task.WaitAll(pending)|};")]
    [InlineData("{|DER0012:Monitor.Enter(_gate)|};")]
    [InlineData("{|DER0012:new SemaphoreSlim(1).Wait()|};")]
    [InlineData("lock ({|DER0012:pending|}) { _value++; }")]
    public Task Blocking_is_flagged(string statement) =>
        Verify($"private readonly Task<long> pending = Task.FromResult(1L); [Ordered] public void A() {{ var pending = this.pending; {statement} }}");

    [Fact]
    public Task Blocking_in_a_helper_of_another_type_or_in_a_lambda_is_flagged() => Verify("""
        [Ordered] public void A() { Backoff.Pause(); Action pause = () => {|DER0012:Thread.Sleep(1)|}; pause(); }
        """, """
        internal static class Backoff
        {
            public static void Pause() => {|DER0012:Thread.Sleep(5)|};
        }
        """);

    [Fact]
    public Task Waiting_outside_ordered_handlers_and_locking_own_state_are_fine() => Verify("""
        public Subject() { Thread.Sleep(1); }
        [P2PCallable] public long Read() { Thread.Sleep(1); return Task.FromResult(_value).Result; }
        public void Unreachable() => Thread.Sleep(1);
        [Ordered] public void A() { lock (_gate) { _value++; } lock (this) { _value++; } }
        """);
}
