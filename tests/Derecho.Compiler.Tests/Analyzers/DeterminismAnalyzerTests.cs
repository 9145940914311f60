using Derecho.Analyzers;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>Each rule fires where replicas could diverge, and stays quiet where they cannot (false positives are bugs).</summary>
public class DeterminismAnalyzerTests
{
    private static Task Verify(string members) => AnalyzerTest.Verify<ReplicatedHandlerAnalyzer>(members);

    [Theory]
    [InlineData("{|DER0001:DateTime.UtcNow|}.Ticks")]
    [InlineData("{|DER0001:DateTime.Now|}.Ticks")]
    [InlineData("{|DER0001:DateTime.Today|}.Ticks")]
    [InlineData("{|DER0001:DateTimeOffset.UtcNow|}.Ticks")]
    [InlineData("{|DER0001:Environment.TickCount64|}")]
    [InlineData("{|DER0001:Stopwatch.GetTimestamp()|}")]
    [InlineData("{|DER0001:TimeProvider.System|}.GetTimestamp()")]
    public Task Clocks_in_ordered_handlers_are_flagged(string expression) => Verify($"[Ordered] public long A() => {expression};");

    [Fact]
    public Task Clock_in_a_helper_called_by_an_ordered_handler_is_flagged() => Verify("""
        [Ordered] public long A() => Helper() + 1;
        private long Helper() => {|DER0001:DateTime.UtcNow|}.Ticks;
        """);

    [Fact]
    public Task Clocks_in_p2p_handlers_constructors_and_unrelated_methods_are_fine() => Verify("""
        public Subject() { _value = DateTime.UtcNow.Ticks; }
        [P2PCallable] public long Read() => DateTime.Now.Ticks + _value;
        public long Diagnostics() => Environment.TickCount64;
        [Ordered] public long A(long at) => _value = at;
        """);

    [Theory]
    [InlineData("{|DER0002:new Random()|}.Next()")]
    [InlineData("{|DER0002:Random.Shared|}.Next()")]
    [InlineData("{|DER0002:Guid.NewGuid()|}.GetHashCode()")]
    [InlineData("{|DER0002:System.Security.Cryptography.RandomNumberGenerator.GetInt32(5)|}")]
    public Task Unseeded_randomness_is_flagged(string expression) => Verify($"[Ordered] public long A() => {expression};");

    [Fact]
    public Task Seeded_random_and_ordered_context_are_fine() => Verify("""
        [Ordered] public long A() => new Random(42).Next() + OrderedContext.Random.Next() + OrderedContext.Timestamp.Ticks;
        """);

    [Theory]
    [InlineData("{|DER0012:{|DER0003:Task.Run(() => 1)|}.Wait()|};")]
    [InlineData("{|DER0003:Parallel.For(0, 3, i => { })|};")]
    [InlineData("{|DER0003:ThreadPool.QueueUserWorkItem(_ => { })|};")]
    [InlineData("{|DER0003:new Thread(() => { })|}.Start();")]
    [InlineData("lock ({|DER0003:s_gate|}) { _value++; }")]
    public Task Concurrency_is_flagged(string statement) => Verify($"[Ordered] public void A() {{ {statement} }}");

    [Fact]
    public Task Async_ordered_handler_and_await_are_flagged() => Verify("""
        [Ordered] public async void {|DER0003:A|}() { {|DER0003:await Task.Yield()|}; _value++; }
        """);

    [Fact]
    public Task Lock_on_instance_state_is_fine() => Verify("""
        [Ordered] public void A() { lock (_gate) { _value++; } }
        """);

    [Theory]
    [InlineData("{|DER0004:File.ReadAllText(\"x\")|}")]
    [InlineData("{|DER0004:Directory.Exists(\"x\")|}.ToString()")]
    [InlineData("{|DER0004:Console.ReadLine()|} ?? \"\"")]
    [InlineData("{|DER0004:Environment.GetEnvironmentVariable(\"X\")|} ?? \"\"")]
    [InlineData("{|DER0004:Process.GetCurrentProcess()|}.Id.ToString()")]
    [InlineData("{|DER0004:new System.Net.Http.HttpClient()|}.ToString()")]
    public Task Io_and_environment_are_flagged(string expression) => Verify($"[Ordered] public string A() => {expression};");

    [Fact]
    public Task Console_output_is_fine() => Verify("""
        [Ordered] public void A() { Console.WriteLine(_value); }
        """);

    [Fact]
    public Task Static_writes_are_flagged_instance_writes_are_not() => Verify("""
        [Ordered] public void A() { {|DER0005:s_total = 1|}; {|DER0005:s_total++|}; {|DER0005:s_total += 2|}; _value = s_total; }
        """);

    [Theory]
    [InlineData("Dictionary<string, int>")]
    [InlineData("HashSet<string>")]
    [InlineData("HashSet<object>")]
    [InlineData("System.Collections.Concurrent.ConcurrentDictionary<string, int>")]
    public Task Enumerating_hash_collections_keyed_by_string_or_object_is_flagged(string type) => Verify($$"""
        private readonly {{type}} _items = new();
        [Ordered] public int A() { var n = 0; foreach (var item in {|DER0006:_items|}) n++; return n + {|DER0006:_items.Select(x => 1)|}.First(); }
        """);

    [Fact]
    public Task Keys_collection_of_a_string_dictionary_is_flagged() => Verify("""
        private readonly Dictionary<string, int> _items = new();
        [Ordered] public int A() { var n = 0; foreach (var key in {|DER0006:_items.Keys|}) n++; return n; }
        """);

    [Fact]
    public Task Ordered_or_int_keyed_collections_are_fine() => Verify("""
        private readonly Dictionary<int, int> _byId = new();
        private readonly SortedDictionary<string, int> _sorted = new();
        private readonly List<string> _list = new();
        private readonly Dictionary<string, int> _lookup = new();
        [Ordered] public int A(string key) { var n = _lookup.TryGetValue(key, out var v) ? v : 0; foreach (var x in _byId) n++; foreach (var x in _sorted) n++; return n + _list.Count(x => x.Length > 0); }
        """);

    [Fact]
    public Task P2P_handler_that_writes_state_is_flagged() => Verify("""
        [P2PCallable] public long Read() { {|DER0007:_value++|}; Touch(); return _value; }
        private void Touch() { {|DER0007:_value = 3|}; }
        """);

    [Fact]
    public Task Trigger_handler_that_writes_state_is_flagged_but_may_use_the_clock_and_its_own_concurrent_state() => Verify("""
        private readonly Persistent<long> _total;
        private readonly System.Collections.Concurrent.ConcurrentQueue<long> _seen = new();
        public Subject(IReplicaContext context) => _total = context.Persistent<long>("total");
        [Trigger] public void Observe(long d) { {|DER0013:_value += d|}; _seen.Enqueue(d + DateTime.UtcNow.Ticks); }
        [Trigger] public async System.Threading.Tasks.Task Bump() { await System.Threading.Tasks.Task.Yield(); {|DER0013:_total.Update(t => t + 1)|}; }
        [Trigger] public void Read() => _seen.Enqueue(_total.Current);
        """);

    [Fact]
    public Task P2P_handler_that_sets_an_auto_property_is_flagged_once() => Verify("""
        public long Total { get; set; }
        private long _backed;
        public long Backed { get => _backed; set => {|DER0007:_backed = value|}; }
        [P2PCallable] public long Read() { {|DER0007:Total = 1|}; Backed = 2; return Total; }
        """);

    [Fact]
    public Task P2P_handler_that_creates_a_version_is_flagged() => Verify("""
        private readonly Persistent<long> _total;
        public Subject(IReplicaContext context) => _total = context.Persistent<long>("total");
        [P2PCallable] public long Bump() => {|DER0007:_total.Update(t => t + 1)|};
        [Ordered] public long Add(long d) => _total.Update(t => t + d);
        [P2PCallable] public long Read() => _total.Current + _total.ValueAt(3);
        """);

    [Fact]
    public Task P2P_handler_that_reads_and_ordered_handler_that_writes_are_fine() => Verify("""
        [P2PCallable] public long Read() => _value + Helper();
        private long Helper() => _value * 2;
        [Ordered] public void Write(long v) { _value = v; }
        """);
}
