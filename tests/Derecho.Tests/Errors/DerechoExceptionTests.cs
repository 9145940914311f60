using Derecho.Errors;
using Derecho.Hosting;
using Derecho.Persistence;
using Derecho.Rpc;
using Derecho.Transport;

namespace Derecho.Tests.Errors;

/// <summary>One base type to catch for every failure of the system (not for a caller's mistakes).</summary>
public class DerechoExceptionTests
{
    [Fact]
    public void Every_failure_the_library_reports_is_a_DerechoException()
    {
        Assert.All(
            [typeof(RemoteCallException), typeof(TransportException), typeof(DerechoConfigurationException),
             typeof(LogCorruptedException), typeof(MemberStoppedException), typeof(CallTimeoutException),
             typeof(ShardUnavailableException), typeof(JoinRefusedException), typeof(ViewChangedException)],
            type => Assert.True(type.IsSubclassOf(typeof(DerechoException)), type.Name));
    }
}
