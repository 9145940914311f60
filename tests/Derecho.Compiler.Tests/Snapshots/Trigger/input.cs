using System.Threading.Tasks;
using Derecho.Rpc;

namespace Sensors
{
    [Replicated]
    public partial class Ingest
    {
        private long _seen;

        /// <summary>One reading, handled by one member.</summary>
        [Trigger]
        public void Observe(string sensor, double reading) => _seen++;

        [Trigger]
        public Task ForwardAsync(string sensor, double reading) => Task.CompletedTask;

        [Trigger]
        public ValueTask Ping() => default;

        [Ordered]
        public long Count(long d) => _seen += d;
    }
}
