using Derecho.Hosting;
using Derecho.Replication;
using Derecho.Tests.Support;

namespace Derecho.Tests.Persistence;

/// <summary>
/// A replica's constructor sees its whole history, also when records reach its log after it first ran: a
/// member new to a shard receives the shard's log tail before its state, and a type that derives plain state
/// from its persistent fields in its constructor (<see cref="DerivedTotals"/>) must then answer as the others.
/// (The total-restart catch-up: <see cref="Samples.KvStoreTests"/>.)
/// </summary>
public sealed class ConstructorDerivedStateTests
{
    private static void Totals(LayoutBuilder l) => l.Subgroup(context => new DerivedTotals(context));

    [Fact]
    public async Task A_joiner_derives_its_state_from_the_log_tail_it_received()
    {
        var group = await InProcessGroup.StartAsync(2, layout: Totals);
        DerechoGroup? joiner = null;
        try
        {
            for (var i = 1; i <= 30; i++) await group.Members[0].Subgroup<DerivedTotals>().Ordered.Add(i);
            joiner = await group.JoinNewMemberAsync(2, layout: Totals);
            await Eventually.True(() => group.Members.All(m => m.View.Members.Count == 3), "the others to see member 2");
            foreach (var member in new[] { 0, 1, 2 })
            {
                var totals = await group.Members[0].Subgroup<DerivedTotals>().On(member).Totals();
                Assert.Equal([30L, 465L], totals);
            }

            await joiner.Subgroup<DerivedTotals>().Ordered.Add(35);
            foreach (var member in new[] { 0, 1, 2 })
            {
                var totals = await group.Members[1].Subgroup<DerivedTotals>().On(member).Totals();
                Assert.Equal([31L, 500L], totals);
            }
        }
        finally
        {
            await Task.WhenAll(group.Members.Append(joiner).OfType<DerechoGroup>().Select(m => m.ShutdownAsync()));
        }
    }
}
