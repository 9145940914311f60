using Derecho.Client;
using Derecho.Tests.Support;
using Xunit;

namespace Derecho.Tests.Diagnostics;

/// <summary>An external client's instruments under the meter "Derecho": call latency by kind, session re-sends and contact failovers.</summary>
public sealed class ClientMetricsTests
{
    [Fact]
    public async Task Client_latency_resends_and_failovers_move_when_the_contact_dies_with_calls_in_flight()
    {
        using var metrics = new MetricsRecorder();
        var group = await InProcessGroup.StartAsync();
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());
        var register = client.Subgroup<Register>();
        var contact = client.Contact;
        var reader = group.Members.First(m => m.MyId != contact).MyId;

        await register.Ordered.Set(-1);
        await register.On(reader).Get();
        Assert.Equal("ordered,p2p", string.Join(',', metrics.TagValues("derecho.client.call.duration", "derecho.call.kind").Order()));
        Assert.True(metrics.Count("derecho.client.call.duration") >= 2);
        Assert.True(metrics.Sum("derecho.client.call.duration") > 0, "each call took some time");

        const int Calls = 600;
        var completed = 0;
        var crash = Task.CompletedTask;
        using var window = new SemaphoreSlim(64);
        var calls = Enumerable.Range(0, Calls).Select(async i =>
        {
            await window.WaitAsync();
            try { await register.Ordered.Set(i); }
            finally { window.Release(); }
            if (Interlocked.Increment(ref completed) == 100) crash = group.Members[contact].DisposeAsync().AsTask(); // mid-stream, with calls in flight
        }).ToList();
        await Task.WhenAll(calls).WaitAsync(TimeSpan.FromMinutes(2));
        await crash;

        Assert.NotEqual(contact, client.Contact);
        Assert.True(metrics.Sum("derecho.client.failovers") >= 1, "the client moved to another contact");
        Assert.True(metrics.Sum("derecho.client.resends") >= 1, "calls in flight at the crash went again through another member");
        Assert.True(metrics.Count("derecho.client.call.duration") >= Calls + 2, "every call's latency is recorded");
        await Task.WhenAll(group.Members.Where(m => m.MyId != contact).Select(m => m.ShutdownAsync()));
    }
}
