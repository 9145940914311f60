using Derecho.Compiler.Tests;
using Derecho.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;

namespace Derecho.Compiler.Tests.Generators;

/// <summary>Unsupported shapes give a DER1xxx diagnostic at the offending symbol and no generated code.</summary>
public class GeneratorDiagnosticTests
{
    [Fact]
    public Task Non_partial_class_is_reported() => Expect("""
        using Derecho.Rpc;
        [Replicated]
        public class {|DER1001:Counter|}
        {
            [Ordered] public long Add(long d) => d;
        }
        """);

    [Fact]
    public Task Nested_in_non_partial_class_is_reported() => Expect("""
        using Derecho.Rpc;
        public class Outer
        {
            [Replicated]
            public partial class {|DER1001:Counter|}
            {
                [Ordered] public long Add(long d) => d;
            }
        }
        """);

    [Theory]
    [InlineData("ref")]
    [InlineData("out")]
    [InlineData("in")]
    public Task By_reference_parameters_are_reported(string modifier) => Expect($$"""
        using Derecho.Rpc;
        [Replicated]
        public partial class Counter
        {
            [Ordered] public void Add({{modifier}} long {|DER1002:d|}) { {{(modifier == "out" ? "d = 0;" : "")}} }
        }
        """);

    [Fact]
    public Task Generic_method_is_reported() => Expect("""
        using Derecho.Rpc;
        [Replicated]
        public partial class Counter
        {
            [Ordered] public T {|DER1003:Echo|}<T>(T value) => value;
        }
        """);

    [Fact]
    public Task Generic_type_is_reported() => Expect("""
        using Derecho.Rpc;
        [Replicated]
        public partial class {|DER1004:Box|}<T>
        {
            [Ordered] public int Size() => 0;
        }
        """);

    [Fact]
    public Task Task_returning_handler_is_reported() => Expect("""
        using System.Threading.Tasks;
        using Derecho.Rpc;
        [Replicated]
        public partial class Counter
        {
            [Ordered] public Task<long> {|DER1005:AddAsync|}(long d) => Task.FromResult(d);
        }
        """);

    [Theory]
    [InlineData("Ordered")]
    [InlineData("P2PCallable")]
    public Task Task_returning_ordered_or_p2p_handler_is_reported_but_not_a_trigger(string kind) => Expect($$"""
        using System.Threading.Tasks;
        using Derecho.Rpc;
        [Replicated]
        public partial class Counter
        {
            [{{kind}}] public Task {|DER1005:WaitAsync|}(long d) => Task.CompletedTask;
            [Trigger] public Task ObserveAsync(long d) => Task.CompletedTask;
            [Trigger] public ValueTask SeeAsync(long d) => default;
        }
        """);

    [Theory]
    [InlineData("long")]
    [InlineData("Task<long>")]
    [InlineData("ValueTask<long>")]
    public Task Trigger_returning_a_value_is_reported(string returnType) => Expect($$"""
        using System.Threading.Tasks;
        using Derecho.Rpc;
        [Replicated]
        public partial class Counter
        {
            [Trigger] public {{returnType}} {|DER1010:Observe|}(long d) => default!;
        }
        """);

    [Fact]
    public Task Trigger_marked_with_another_kind_is_reported() => Expect("""
        using Derecho.Rpc;
        [Replicated]
        public partial class Counter
        {
            [Trigger, Ordered] public void {|DER1007:Observe|}(long d) { }
        }
        """);

    [Fact]
    public Task Method_marked_twice_is_reported() => Expect("""
        using Derecho.Rpc;
        [Replicated]
        public partial class Counter
        {
            [Ordered, P2PCallable] public long {|DER1007:Add|}(long d) => d;
        }
        """);

    [Fact]
    public Task Static_and_private_methods_are_reported() => Expect("""
        using Derecho.Rpc;
        [Replicated]
        public partial class Counter
        {
            [Ordered] public static long {|DER1008:Add|}(long d) => d;
            [P2PCallable] private long {|DER1008:Read|}() => 0;
        }
        """);

    [Fact]
    public Task Struct_is_reported() => Expect("""
        using Derecho.Rpc;
        [{|CS0592:Replicated|}]
        public partial struct {|DER1009:Counter|}
        {
        }
        """);

    private static async Task Expect(string source)
    {
        var test = new CSharpSourceGeneratorTest<ReplicatedGenerator, DefaultVerifier>
        {
            ReferenceAssemblies = References.Empty,
            TestBehaviors = TestBehaviors.SkipGeneratedSourcesCheck,
        };
        test.TestState.Sources.Add(source);
        test.TestState.AdditionalReferences.AddRange(References.All);
        await test.RunAsync();
        // No source may be generated for a type with an error: broken code would bury the real diagnostic.
        var plain = System.Text.RegularExpressions.Regex.Replace(source, @"\{\|[A-Z]+[0-9]+:([^|]*)\|\}", "$1");
        var (generated, _) = GeneratorTestHarness.Run(plain);
        Assert.Empty(generated);
    }
}
