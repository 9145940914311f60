using Derecho.Analyzers;
using Derecho.Analyzers.CodeFixes;
using Microsoft.CodeAnalysis.Testing;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>DER0009 fires exactly where the generator's CanTransferState is false; its fix adds IReplicaState.</summary>
public class StateTransferAnalyzerTests
{
    private static Task Verify(string source, params DiagnosticResult[] expected) => AnalyzerTest.VerifySource<StateTransferAnalyzer>(source, expected);

    private static Task Fix(string before, string after) =>
        AnalyzerTest.FixSource<StateTransferAnalyzer, ReplicaStateCodeFix>(AnalyzerTest.Usings + before, AnalyzerTest.Usings + after);

    [Fact]
    public Task State_outside_versioned_fields_without_state_transfer_is_flagged() => Verify("""
        [Replicated]
        public partial class {|DER0009:Plain|}
        {
            private long _total;
            [Ordered] public long Add(long amount) => _total += amount;
        }

        [Replicated]
        public partial class {|DER0009:ReadonlyCollection|}
        {
            private readonly List<string> _names = new();
            [Ordered] public void Add(string name) => _names.Add(name);
        }

        [Replicated]
        public partial class {|DER0009:AutoProperty|}
        {
            public long Count { get; private set; }
            [Ordered] public void Tick() => Count++;
        }

        [Replicated]
        public partial class {|DER0009:ReassignableVersionedField|}
        {
            private Persistent<long> _total;
            public ReassignableVersionedField(IReplicaContext context) => _total = context.Persistent<long>("total");
            [Ordered] public long Add(long amount) => _total.Update(t => t + amount);
        }
        """);

    [Fact]
    public Task Message_names_the_type_and_its_fields() => Verify("""
        [Replicated]
        public partial class {|#0:Two|}
        {
            private long _a;
            public string B { get; set; } = "";
            [Ordered] public long Add(long amount) => _a += amount;
        }
        """, new DiagnosticResult(Descriptors.NoStateTransfer).WithLocation(0).WithArguments("Two", "'_a', 'B'"));

    [Fact]
    public Task Transferable_types_are_fine() => Verify("""
        [Replicated]
        [MemoryPackable]
        public partial class Packable
        {
            [MemoryPackInclude] private long _total;
            [Ordered] public long Add(long amount) => _total += amount;
        }

        [Replicated]
        public partial class Custom : IReplicaState
        {
            private long _total;
            [Ordered] public long Add(long amount) => _total += amount;
            public void WriteState(System.Buffers.IBufferWriter<byte> writer) => MemoryPackSerializer.Serialize(writer, _total);
            public void ReadState(ReadOnlySpan<byte> state) => _total = MemoryPackSerializer.Deserialize<long>(state);
        }

        [Replicated]
        public partial class Versioned
        {
            private static long s_instances;
            private const int Limit = 3;
            private readonly IReplicaContext _context;
            private readonly Persistent<long> _total;
            private readonly Volatile<string> _label;
            public Versioned(IReplicaContext context)
            {
                _context = context;
                _total = context.Persistent<long>("total");
                _label = context.Volatile<string>("label");
                s_instances++;
            }
            [Ordered] public long Add(long amount) => _total.Update(t => Math.Min(t + amount, Limit));
        }

        [Replicated]
        public partial class Stateless
        {
            [P2PCallable] public int Ping() => 1;
        }

        public class NotReplicated
        {
            private long _total;
            public long Add(long amount) => _total += amount;
        }
        """);

    [Fact]
    public Task Fix_serializes_one_field() => Fix("""
        [Replicated]
        public partial class {|DER0009:Tally|}
        {
            private long _total;

            [Ordered] public long Add(long amount) => _total += amount;
        }
        """, """
        [Replicated]
        public partial class Tally : IReplicaState
        {
            private long _total;

            [Ordered] public long Add(long amount) => _total += amount;

            /// <summary>Sends a joining member the state outside versioned fields (written by the DER0009 fix: keep it in step with the fields).</summary>
            public void WriteState(System.Buffers.IBufferWriter<byte> writer) => MemoryPackSerializer.Serialize(writer, _total);

            /// <summary>Replaces that state with what <see cref="WriteState"/> wrote at an old member.</summary>
            public void ReadState(ReadOnlySpan<byte> state) => _total = MemoryPackSerializer.Deserialize<long>(state)!;
        }
        """);

    [Fact]
    public Task Fix_serializes_several_fields_as_a_tuple_and_points_at_readonly_ones() => Fix("""
        [Replicated]
        public partial class {|DER0009:Roster|} : IDisposable
        {
            private long _count;
            private string? state;
            private readonly List<string> _names = new();
            private readonly Persistent<long> _total;

            public Roster(IReplicaContext context) => _total = context.Persistent<long>("total");

            [Ordered] public void Add(string name) { _names.Add(name); _count++; state = name; }

            public void Dispose() { }
        }
        """, """
        [Replicated]
        public partial class Roster : IDisposable, IReplicaState
        {
            private long _count;
            private string? state;
            private readonly List<string> _names = new();
            private readonly Persistent<long> _total;

            public Roster(IReplicaContext context) => _total = context.Persistent<long>("total");

            [Ordered] public void Add(string name) { _names.Add(name); _count++; state = name; }

            public void Dispose() { }

            /// <summary>Sends a joining member the state outside versioned fields (written by the DER0009 fix: keep it in step with the fields).</summary>
            public void WriteState(System.Buffers.IBufferWriter<byte> writer) => MemoryPackSerializer.Serialize(writer, (_count, state, _names));

            /// <summary>Replaces that state with what <see cref="WriteState"/> wrote at an old member.</summary>
            public void ReadState(ReadOnlySpan<byte> state)
            {
                var restored = MemoryPackSerializer.Deserialize<(long, string?, List<string>)>(state);
                _count = restored.Item1;
                this.state = restored.Item2;
                // _names is readonly: copy restored.Item3 into it.
            }
        }
        """);
}
