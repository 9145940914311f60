using Derecho.Analyzers;

namespace Derecho.Compiler.Tests.Analyzers;

public class SerializableTypeAnalyzerTests
{
    private static Task Verify(string members) => AnalyzerTest.Verify<SerializableTypeAnalyzer>(members + """

        }

        public class Plain { public int X; }

        [MemoryPackable]
        public partial record Packable(int X);

        public enum Color { Red }

        public interface IShape { }
        public partial class Ignored {
        """);

    [Fact]
    public Task Types_memorypack_cannot_serialize_are_flagged() => Verify("""
        [Ordered] public void A(Plain {|DER0008:p|}) { }
        [Ordered] public void B(object {|DER0008:o|}) { }
        [Ordered] public void C(Action {|DER0008:callback|}) { }
        [Ordered] public void D(IShape {|DER0008:shape|}) { }
        [P2PCallable] public List<Plain> {|DER0008:E|}() => new();
        [Trigger] public void F(Plain {|DER0008:p|}) { }
        """);

    [Fact]
    public Task A_trigger_may_return_a_task_its_arguments_are_checked() => Verify("""
        [Trigger] public System.Threading.Tasks.Task A(Packable p, string s) => System.Threading.Tasks.Task.CompletedTask;
        [Trigger] public System.Threading.Tasks.ValueTask B(IShape {|DER0008:shape|}) => default;
        """);

    [Fact]
    public Task Serializable_types_are_fine() => Verify("""
        [Ordered] public Packable A(Packable p, string s, int[] numbers, Color c, Guid id, DateTime at) => p;
        [P2PCallable] public Dictionary<string, List<long>> B(long? maybe, (int, string) pair) => new();
        [Ordered] public void C() { }
        """);
}
