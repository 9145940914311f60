using Derecho.Hosting;
using Derecho.Persistence;
using Derecho.Replication;
using Derecho.Rpc;
using Derecho.Tests.Support;

namespace Derecho.Tests.Persistence;

/// <summary>Versioned fields: reads by version, time and range; lock-free reads during appends; identical reads at time T.</summary>
public sealed class VersionedTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("derecho-versioned-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static void InDelivery(long sequence, DateTime at, Action action)
    {
        OrderedContext.Enter(new DeliveryInfo(0, sequence, sequence, at));
        try { action(); }
        finally { OrderedContext.Exit(); }
    }

    private static DateTime At(int second) => new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(second);

    [Fact]
    public void Reads_by_version_time_and_range()
    {
        var context = new ReplicaContext(0, [0], "T", relative => Path.Combine(_dir.FullName, relative), _ => { });
        var field = context.Volatile("x", 0L);
        for (var i = 1; i <= 10; i++) InDelivery(i * 10, At(i), () => field.Update(v => v + 1));
        Assert.Equal(10, field.Current);
        Assert.Equal(100, field.CurrentVersion);
        Assert.Equal(4, field.ValueAt(45));
        Assert.Equal(4, field.ValueAtTime(At(4).AddMilliseconds(500)));
        Assert.Equal([3L, 4, 5], field.Range(30, 50).Select(v => v.Value));
        Assert.Throws<KeyNotFoundException>(() => field.ValueAt(5));
        field.TrimBefore(50);
        Assert.Equal(5, field.ValueAt(55));
        Assert.False(field.TryGetAt(45, out _));
        Assert.Throws<ArgumentException>(() => context.Persistent<long>("x"));
    }

    [Fact]
    public void Retention_keeps_the_newest_versions_and_trims_the_rest()
    {
        var context = new ReplicaContext(0, [0], "T", relative => Path.Combine(_dir.FullName, relative), _ => { }, retainVersions: 10);
        var field = context.Volatile("x", 0L);
        for (var i = 1; i <= 100; i++) InDelivery(i, At(i), () => field.Update(v => v + 1));
        Assert.InRange(field.VersionCount, 10, 20);
        Assert.Equal(100, field.Current);
        Assert.Equal(95, field.ValueAt(95));
        Assert.False(field.TryGetAt(50, out _));
    }

    /// <summary>A field made in a handler would exist only where that code ran, and neither state transfer nor recovery would know it.</summary>
    [Fact]
    public void Fields_cannot_be_created_after_the_constructor()
    {
        var context = new ReplicaContext(0, [0], "T", relative => Path.Combine(_dir.FullName, relative), _ => { });
        context.Volatile("early", 0L);
        context.Seal();
        var late = Assert.Throws<InvalidOperationException>(() => context.Volatile("late", 0L));
        Assert.Contains("after the replica's constructor returned", late.Message);
        Assert.Throws<InvalidOperationException>(() => context.Persistent("later", 0L));
    }

    /// <summary>
    /// A handler's writes are its own until it returns: another thread reads the published version meanwhile, and a
    /// handler that throws leaves the field as it was (the next write numbers on from the published version).
    /// </summary>
    [Fact]
    public void A_handlers_writes_are_published_when_it_returns_and_dropped_when_it_throws()
    {
        var context = new ReplicaContext(0, [0], "T", relative => Path.Combine(_dir.FullName, relative), _ => { });
        var field = context.Volatile("x", 0L);
        InDelivery(1, At(1), () => field.Set(1));

        OrderedContext.Enter(new DeliveryInfo(0, 2, 2, At(2)));
        field.Set(2);
        Assert.Equal((2L, 2L), (field.CurrentVersion, field.Current)); // the handler sees its write
        Assert.Equal((1L, 1L), OnAnotherThread(() => (field.CurrentVersion, field.Current))); // nobody else does yet
        OrderedContext.Exit(applied: false);
        Assert.Equal((1L, 1L, 1), (field.CurrentVersion, field.Current, field.VersionCount));

        InDelivery(3, At(3), () => field.Update(v => v + 10));
        Assert.Equal((3L, 11L, 2), (field.CurrentVersion, field.Current, field.VersionCount));
        Assert.Equal(11L, OnAnotherThread(() => field.Current));
        Assert.False(field.TryGetAt(2, out var at2) && at2.Version == 2);
    }

    /// <summary>Runs <paramref name="read"/> on a thread of its own (not the pool: the delivery's context is this thread's).</summary>
    private static T OnAnotherThread<T>(Func<T> read)
    {
        T result = default!;
        var thread = new Thread(() => result = read());
        thread.Start();
        thread.Join();
        return result;
    }

    [Fact]
    public void Update_outside_an_ordered_handler_is_refused()
    {
        var context = new ReplicaContext(0, [0], "T", relative => Path.Combine(_dir.FullName, relative), _ => { });
        var field = context.Volatile("x", 0L);
        Assert.Throws<InvalidOperationException>(() => field.Update(v => v + 1));
    }

    [Fact]
    public void Readers_never_see_a_torn_or_wrong_version_while_the_delivery_thread_appends()
    {
        var field = ReadWhileAppending(retainVersions: 0, (field, random) =>
        {
            var latest = field.CurrentVersion;
            if (latest < 0) return false;
            var asked = random.NextInt64(0, latest + 1);
            var value = field.ValueAt(asked);
            // The writer stores (v, 2v) at version v: a mismatch would be a torn or misplaced read.
            Assert.Equal(asked, value.Version);
            Assert.Equal(2 * asked, value.Double);
            return true;
        });
        Assert.Equal(Appended, field.VersionCount);
    }

    /// <summary>As above with retention: the store sheds trimmed slots while readers read the newest versions.</summary>
    [Fact]
    public void Readers_see_the_newest_versions_while_retention_frees_the_old_ones()
    {
        var field = ReadWhileAppending(retainVersions: 16, (field, random) =>
        {
            var current = field.Current;
            Assert.Equal(2 * current.Version, current.Double);
            var latest = field.CurrentVersion;
            if (latest < 16) return false;
            var asked = latest - random.NextInt64(0, 16); // among the newest RetainVersions when asked
            if (!field.TryGetAt(asked, out var held))
            {
                // Only if the writer has moved on by a whole retention since: then it may be trimmed.
                Assert.True(field.CurrentVersion - asked >= 16, $"version {asked} missing while the latest is {field.CurrentVersion}");
                return false;
            }
            Assert.Equal(asked, held.Value.Version);
            Assert.Equal(2 * asked, held.Value.Double);
            return true;
        });
        Assert.InRange(field.VersionCount, 16, 32);
    }

    private const int Appended = 200_000;

    /// <summary>
    /// Two readers run <paramref name="read"/> (true: it read something) in a loop while a delivery thread appends (v, 2v)
    /// at version v, <see cref="Appended"/> times; appends go on past 1,000 only once both readers read, so reads overlap appends.
    /// </summary>
    private Volatile<(long Version, long Double)> ReadWhileAppending(int retainVersions, Func<Volatile<(long Version, long Double)>, Random, bool> read)
    {
        var context = new ReplicaContext(0, [0], "T", relative => Path.Combine(_dir.FullName, relative), _ => { }, retainVersions: retainVersions);
        var field = context.Volatile("pair", (Version: -1L, Double: -2L));
        var done = false;
        var started = 0;
        var readers = Enumerable.Range(0, 2).Select(seed => Task.Run(() =>
        {
            var random = new Random(seed);
            var reads = 0L;
            while (!Volatile.Read(ref done))
                if (read(field, random) && reads++ == 0) Interlocked.Increment(ref started);
            return reads;
        })).ToArray();
        var writer = new Thread(() =>
        {
            for (var v = 0; v < Appended; v++)
            {
                InDelivery(v, At(0).AddTicks(v), () => field.Set((v, 2L * v)));
                if (v == 1000) while (Volatile.Read(ref started) < 2) Thread.Yield();
            }
        });
        writer.Start();
        writer.Join();
        Volatile.Write(ref done, true);
        Assert.All(readers.Select(r => r.Result), reads => Assert.True(reads > 0));
        return field;
    }

    /// <summary>Before, trimming only moved the first readable slot: every trimmed value stayed referenced and the slot array kept doubling.</summary>
    [Fact]
    public void Retention_frees_the_memory_of_trimmed_versions()
    {
        var context = new ReplicaContext(0, [0], "T", relative => Path.Combine(_dir.FullName, relative), _ => { }, retainVersions: 10);
        var field = context.Volatile<byte[]>("blob", []);
        var first = SetAndForget(field);
        for (var v = 2; v <= 1000; v++) InDelivery(v, At(v), () => field.Set(new byte[16]));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(first.IsAlive, "the first version's value is still referenced after 999 later versions with RetainVersions = 10");
        Assert.InRange(field.VersionCount, 10, 20);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var v = 1001; v <= 2000; v++) InDelivery(v, At(v), () => field.Set(Array.Empty<byte>()));
        // 1,000 more versions allocate no growing slot array: only the small stores that replace each other.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 400_000, $"{GC.GetAllocatedBytesForCurrentThread() - before} bytes allocated for 1,000 versions");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference SetAndForget(Volatile<byte[]> field)
    {
        var value = new byte[1 << 20];
        InDelivery(1, At(1), () => field.Set(value));
        return new WeakReference(value);
    }

    [Fact]
    public async Task Reads_at_the_same_time_return_the_same_value_on_every_replica()
    {
        var ports = Ports.Free(3);
        var members = await Task.WhenAll(Enumerable.Range(0, 3).Select(id =>
        {
            var options = InProcessGroup.Options(id, ports);
            options.DataDirectory = _dir.FullName;
            return DerechoGroup.JoinAsync(options, layout => layout.Subgroup(context => new Journal(context)));
        }));
        var calls = members.SelectMany(m => Enumerable.Range(1, 200).Select(i => m.Subgroup<Journal>().Ordered.Add(i))).ToArray();
        await Task.WhenAll(calls);

        var ticks = await members[0].Subgroup<Journal>().On(0).VersionTicks();
        Assert.Equal(600, ticks.Count);
        foreach (var t in new[] { ticks[0], ticks[123], ticks[599], ticks[300] + 1 })
        {
            var at = new DateTime(t, DateTimeKind.Utc);
            var values = await Task.WhenAll(members.Select(m => members[0].Subgroup<Journal>().On(m.MyId).TotalAtTime(at)));
            Assert.Single(values.Distinct());
            Assert.True(values[0] > 0);
        }

        // The stable time frontier: once it passed T everywhere, a read at T is final and the same on every replica.
        var now = DateTime.UtcNow;
        await Assert.ThrowsAsync<Derecho.Errors.TimeNotStableException>(() => members[0].WaitForStableTimeAsync(now.AddHours(1), failFast: true));
        await Task.WhenAll(members.Select(m => m.WaitForStableTimeAsync(now)));
        Assert.All(members, m => Assert.True(m.StableTime > now));
        var atNow = await Task.WhenAll(members.Select(m => members[1].Subgroup<Journal>().On(m.MyId).TotalAtTime(now)));
        Assert.Equal(3 * 200 * 201 / 2, atNow[0]);
        Assert.Single(atNow.Distinct());
        await Task.WhenAll(members.Select(m => m.ShutdownAsync()));
    }
}

/// <summary>Delta logging: small records between checkpoints, exact values after recovery.</summary>
public sealed class DeltaTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("derecho-delta-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Lists that only grow: the delta is the new tail.</summary>
    private sealed class AppendOnlyList : IDeltaCodec<List<int>>
    {
        public void WriteDelta(List<int> previous, List<int> current, System.Buffers.IBufferWriter<byte> writer) =>
            MemoryPack.MemoryPackSerializer.Serialize(writer, current.Skip(previous.Count).ToArray());

        public List<int> ApplyDelta(List<int> previous, ReadOnlySpan<byte> delta) =>
            [.. previous, .. MemoryPack.MemoryPackSerializer.Deserialize<int[]>(delta)!];
    }

    private (Persistent<List<int>> Field, ReplicaContext Owner) Open(IDeltaCodec<List<int>>? codec, Derecho.Persistence.PersistentLogOptions? options = null)
    {
        var context = new ReplicaContext(0, [0], "T", relative => Path.Combine(_dir.FullName, relative), _ => { }, logOptions: options);
        var field = codec is null ? context.Persistent("list", new List<int>()) : context.Persistent("list", new List<int>(), codec, checkpointEvery: 50);
        context.Seal();
        return (field, context);
    }

    /// <summary>What the runtime does around each delivery: the handler runs, then its changes become one record.</summary>
    private static void Deliver(ReplicaContext owner, long v, Action update)
    {
        OrderedContext.Enter(new DeliveryInfo(0, v, v, DateTime.UnixEpoch.AddSeconds(v)));
        update();
        OrderedContext.Exit();
        owner.CommitDelivery();
    }

    [Fact]
    public void Deltas_between_checkpoints_recover_to_identical_values_and_cost_less_disk()
    {
        var (field, owner) = Open(new AppendOnlyList());
        for (var v = 1; v <= 200; v++) Deliver(owner, v, () => field.Update(list => [.. list, v]));
        owner.Dispose();
        var logBytes = _dir.EnumerateFiles("*.log", SearchOption.AllDirectories).Sum(f => f.Length);

        var (recovered, owner2) = Open(new AppendOnlyList());
        Assert.Equal(200, recovered.VersionCount);
        foreach (var v in new[] { 1, 49, 50, 51, 137, 200 })
            Assert.Equal(Enumerable.Range(1, v), recovered.ValueAt(v));
        owner2.Dispose();

        // Full values for the same history would take far more room: 200 lists of 1..200 ints.
        var fullBytes = Enumerable.Range(1, 200).Sum(n => 32 + 4 + 4 * n);
        Assert.True(logBytes * 3 < fullBytes, $"{logBytes} bytes of deltas vs {fullBytes} bytes of full values");

        Assert.Throws<InvalidDataException>(() => Open(null));
    }

    [Fact]
    public void Trimming_a_delta_log_keeps_the_checkpoint_that_later_deltas_need()
    {
        // Small segments, so trimming really deletes files; same folder as Open() uses.
        var (field, context) = Open(new AppendOnlyList(), new Derecho.Persistence.PersistentLogOptions { SegmentBytes = 2048 });
        for (var v = 1; v <= 200; v++) Deliver(context, v, () => field.Update(list => [.. list, v]));
        field.Flush();
        var segments = Directory.GetFiles(Path.Combine(_dir.FullName, "T")).Length;
        field.TrimBefore(175); // between checkpoints 151 and 201: the log must keep 151 onwards
        context.Dispose();
        Assert.True(Directory.GetFiles(Path.Combine(_dir.FullName, "T")).Length < segments, "old segments were deleted");

        var (recovered, owner) = Open(new AppendOnlyList());
        Assert.Equal(Enumerable.Range(1, 200), recovered.Current);
        Assert.Equal(Enumerable.Range(1, 180), recovered.ValueAt(180));
        Assert.False(recovered.TryGetAt(100, out _)); // trimmed versions do not come back
        owner.Dispose();
    }
}

/// <summary>Versioned fields inside a temporal handler: <c>Current</c> is the value at the read time, or a clear error when that history is not held.</summary>
public sealed class TemporalReadTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("derecho-temporal-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static DateTime At(int second) => new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(second);

    private static T ReadAt<T>(DateTime time, Func<T> read)
    {
        TemporalContext.Enter(time.Ticks);
        try { return read(); }
        finally { TemporalContext.Exit(); }
    }

    private static void Write(Volatile<long> field, long sequence, DateTime at, long value)
    {
        OrderedContext.Enter(new DeliveryInfo(0, sequence, sequence, at));
        try { field.Set(value); }
        finally { OrderedContext.Exit(); }
    }

    [Fact]
    public void Current_reads_at_the_time_and_before_any_version_gives_the_initial_value()
    {
        var context = new ReplicaContext(0, [0], "T", relative => Path.Combine(_dir.FullName, relative), _ => { });
        var field = context.Volatile("x", -7L);
        for (var i = 1; i <= 5; i++) Write(field, i, At(i * 10), i);
        Assert.Equal(3, ReadAt(At(35), () => field.Current));
        Assert.Equal(3, ReadAt(At(35), () => field.CurrentVersion));
        Assert.Equal(3, ReadAt(At(30), () => field.Current));
        Assert.Equal(-7, ReadAt(At(5), () => field.Current));
        Assert.Equal(-1, ReadAt(At(5), () => field.CurrentVersion));
        Assert.Equal(5, field.Current); // outside a temporal handler: now
    }

    [Fact]
    public void A_read_before_trimmed_or_transferred_history_fails_instead_of_answering_wrong()
    {
        var context = new ReplicaContext(0, [0], "T", relative => Path.Combine(_dir.FullName, relative), _ => { });
        var trimmed = context.Volatile("trimmed", 0L);
        for (var i = 1; i <= 5; i++) Write(trimmed, i, At(i * 10), i);
        trimmed.TrimBefore(3);
        Assert.Equal(3, ReadAt(At(31), () => trimmed.Current));
        Assert.Throws<KeyNotFoundException>(() => ReadAt(At(25), () => trimmed.Current));

        // A replica that was sent the latest version only (state transfer) holds nothing before it.
        var sent = new Derecho.Rpc.PooledBufferWriter();
        ((IVersionedField)trimmed).WriteLatest(sent);
        var receiver = context.Volatile("receiver", 0L);
        ((IVersionedField)receiver).ReadLatest(sent.WrittenSpan);
        Assert.Equal(5, ReadAt(At(55), () => receiver.Current));
        var error = Assert.Throws<KeyNotFoundException>(() => ReadAt(At(45), () => receiver.Current));
        Assert.Contains("does not hold the history", error.Message);
    }

    /// <summary>Failed on the old code: the reopened field answered the initial value (0) for a time before its oldest kept version.</summary>
    [Fact]
    public void A_field_reopened_from_a_log_whose_first_segments_were_trimmed_fails_reads_before_its_oldest_version()
    {
        var options = new PersistentLogOptions { SegmentBytes = 4096 };
        var context = new ReplicaContext(0, [0], "T", relative => Path.Combine(_dir.FullName, relative), _ => { }, retainVersions: 10, logOptions: options);
        var field = context.Persistent("x", 0L);
        context.Seal();
        for (var i = 1; i <= 600; i++)
        {
            OrderedContext.Enter(new DeliveryInfo(0, i, i, At(i)));
            field.Set(i);
            OrderedContext.Exit();
            context.CommitDelivery();
        }
        field.Flush();
        context.Dispose();

        var reopened = new ReplicaContext(0, [0], "T", relative => Path.Combine(_dir.FullName, relative), _ => { }, retainVersions: 10, logOptions: options);
        var again = reopened.Persistent("x", 0L);
        reopened.Seal();
        var oldest = again.Range(long.MinValue, long.MaxValue)[0];
        Assert.True(oldest.Version > 1, "the log's first segments were trimmed");
        Assert.Equal(oldest.Value, ReadAt(oldest.Timestamp, () => again.Current));
        Assert.Throws<KeyNotFoundException>(() => ReadAt(At(1), () => again.Current));
        reopened.Dispose();
    }
}
