using Derecho.Rpc;

namespace Shop.Inventory
{
    [Replicated]
    public partial class Counter
    {
        private long _value;

        /// <summary>Adds to the counter.</summary>
        /// <param name="delta">How much.</param>
        [Ordered]
        public long Add(long delta = 1) => _value += delta;

        [Ordered]
        public void Reset(string reason = "manual", bool @checked = false) => _value = 0;

        [P2PCallable]
        public long Read() => _value;

        public long NotReplicated() => _value;
    }
}
