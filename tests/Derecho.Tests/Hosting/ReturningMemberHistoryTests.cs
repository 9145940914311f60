using Derecho.Hosting;
using Derecho.Tests.Support;

namespace Derecho.Tests.Hosting;

/// <summary>
/// A member that crashed and rejoins (Join, same data directory) keeps its own log and receives, with the
/// shard's state, every record it missed: afterwards its history (every version, and the time of each) is the
/// same as the others', before, during and after its absence.
/// </summary>
public sealed class ReturningMemberHistoryTests : IDisposable
{
    private readonly TemporaryDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private DerechoOptions Options(int id, int[] ports, bool join = false)
    {
        var options = InProcessGroup.Options(id, ports);
        options.DataDirectory = _dir.Path;
        options.FailureTimeout = TimeSpan.FromSeconds(1);
        options.Join = join;
        return options;
    }

    private Task<DerechoGroup> Start(int id, int[] ports, bool join = false) =>
        DerechoGroup.JoinAsync(Options(id, ports, join), l => l.Subgroup(c => new Journal(c)));

    private static async Task AddAll(DerechoGroup member, int calls)
    {
        var journal = member.Subgroup<Journal>();
        for (var i = 0; i < calls; i += 50) await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => journal.Ordered.Add(1)));
    }

    [Fact]
    public async Task A_rejoining_member_has_every_version_of_the_others_including_those_made_while_it_was_away()
    {
        var ports = Ports.Free(3);
        var members = await Task.WhenAll(Enumerable.Range(0, 3).Select(id => Start(id, ports)));
        DerechoGroup? returned = null;
        try
        {
            await AddAll(members[0], 100);
            await members[2].DisposeAsync(); // a crash
            await Eventually.True(() => members[0].View.Members.Count == 2 && members[1].View.Members.Count == 2, "the survivors to remove member 2");
            await Task.WhenAll(AddAll(members[0], 300), AddAll(members[1], 300));

            returned = await Start(2, ports, join: true);
            await Eventually.True(() => members[0].View.Members.Count == 3, "member 2 to rejoin");
            await AddAll(members[1], 50);

            var journal = members[0].Subgroup<Journal>();
            var expected = await journal.On(0).History();
            var actual = await journal.On(2).History();
            Assert.Equal(750, expected.Count);
            Assert.Equal(expected.Select(v => string.Join('/', v)), actual.Select(v => string.Join('/', v)));
            foreach (var version in expected.Select(v => v[0]))
                Assert.Equal(await journal.On(0).TotalAt(version), await journal.On(2).TotalAt(version));
        }
        finally
        {
            await Task.WhenAll(members.Take(2).Append(returned).OfType<DerechoGroup>().Select(m => m.ShutdownAsync()));
        }
    }
}
