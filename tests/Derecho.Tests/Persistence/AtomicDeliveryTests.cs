using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Persistence;
using Derecho.Replication;
using Derecho.Rpc;
using Derecho.Tests.Support;

namespace Derecho.Tests.Persistence;

/// <summary>
/// Scenario: one ordered call changes two persistent fields; the process dies while the last write of one
/// log file is only partly on disk. Tried: cutting the tail of every log file under the member's data
/// directory in turn (the torn write of that file), then restarting. The replica must come back at a
/// delivery boundary: both fields at the same version, their sum still zero.
/// </summary>
public sealed class AtomicDeliveryTests : IDisposable
{
    private readonly TemporaryDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static DerechoOptions Options(string data, int port) => new()
    {
        MyId = 0,
        Members = [new MemberOptions { Id = 0, Endpoint = $"127.0.0.1:{port}" }],
        DataDirectory = data,
        RingBytes = 1 << 20,
        MaxPayloadBytes = 64 << 10,
    };

    [Fact]
    public async Task A_torn_write_in_any_log_file_never_leaves_fields_out_of_step()
    {
        var original = Path.Combine(_dir.Path, "original");
        await using (var group = await DerechoGroup.JoinAsync(Options(original, Ports.Free(1)[0]), l => l.Subgroup(c => new Accounts(c))))
        {
            for (var i = 1; i <= 50; i++) await group.Subgroup<Accounts>().Ordered.Transfer(i);
        }
        var files = Directory.GetFiles(original, "*.log", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(original, f)).Where(f => new FileInfo(Path.Combine(original, f)).Length > 0).ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var copy = Path.Combine(_dir.Path, $"cut-{files.IndexOf(file)}");
            CopyDirectory(original, copy);
            using (var stream = new FileStream(Path.Combine(copy, file), FileMode.Open, FileAccess.Write))
                stream.SetLength(stream.Length - 3); // the last write of this file landed only in part

            await using var restarted = await DerechoGroup.JoinAsync(Options(copy, Ports.Free(1)[0]), l => l.Subgroup(c => new Accounts(c)));
            var latest = await restarted.Subgroup<Accounts>().On(0).Latest();
            Assert.True(latest[0] == latest[2], $"cutting {file}: checking is at version {latest[0]}, savings at {latest[2]}");
            Assert.True(latest[1] + latest[3] == 0, $"cutting {file}: checking {latest[1]} + savings {latest[3]} != 0");
        }
    }

    /// <summary>
    /// A handler that writes a field twice (Set then Update) and the next call that writes another field: the
    /// second write is the same call's version, so the next call's record still follows (before, the second
    /// write took version v + 1 and the next delivery, at v + 1, threw on every replica). Recovery keeps the last write.
    /// </summary>
    [Fact]
    public void Writing_a_field_twice_in_one_call_keeps_the_last_write_and_the_next_call_logs()
    {
        var path = Path.Combine(_dir.Path, "twice");
        ReplicaContext Open(out Persistent<long> a, out Persistent<long> b)
        {
            var context = new ReplicaContext(0, [0], "T", relative => Path.Combine(path, relative), _ => { });
            a = context.Persistent<long>("a");
            b = context.Persistent<long>("b");
            context.Seal();
            return context;
        }
        using (var context = Open(out var a, out var b))
        {
            OrderedContext.Enter(new DeliveryInfo(0, 1, 1, DateTime.UnixEpoch));
            a.Set(5);
            a.Update(x => x + 1);
            OrderedContext.Exit();
            Assert.True(context.CommitDelivery());
            OrderedContext.Enter(new DeliveryInfo(0, 2, 2, DateTime.UnixEpoch.AddSeconds(1)));
            b.Set(7);
            OrderedContext.Exit();
            Assert.True(context.CommitDelivery());
            Assert.Equal(6, a.ValueAt(1));
        }
        using var reopened = Open(out var a2, out var b2);
        Assert.Equal((1, 6), (a2.CurrentVersion, a2.Current));
        Assert.Equal((2, 7), (b2.CurrentVersion, b2.Current));
        Assert.Equal(6, a2.ValueAt(1));
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(directory.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, file.Replace(from, to));
    }
}
