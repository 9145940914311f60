// Analyzer corpus: a realistic replicated type with known divergence points. Each line that must carry
// diagnostics ends in "// expect: DER00xx[, DER00yy]"; every other line must carry none.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Derecho.Rpc;
using MemoryPack;

namespace Corpus;

[MemoryPackable]
public sealed partial record StockLine(string Sku, int Quantity, long PriceCents);

[MemoryPackable]
public sealed partial record Reservation(Guid Id, string Sku, int Quantity, DateTime At);

/// <summary>A warehouse shard: stock per SKU, reservations, and a price list.</summary>
[Replicated]
[MemoryPackable]
public sealed partial class Warehouse
{
    private static long s_reservationsMade;
    private static readonly IShippingPolicy[] s_policies = [new FlatShipping(), new PeakShipping()];

    public Dictionary<string, int> Stock { get; set; } = new(StringComparer.Ordinal);
    public SortedDictionary<string, long> Prices { get; set; } = new(StringComparer.Ordinal);
    public List<Reservation> Reservations { get; set; } = new();
    public HashSet<string> Discontinued { get; set; } = new(StringComparer.Ordinal);
    public string Origin { get; set; } = "";
    public long LastAudit { get; set; }

    [MemoryPackConstructor]
    public Warehouse() { }

    public Warehouse(string origin)
    {
        Origin = origin + "@" + Environment.MachineName; // a constructor runs once, on one member: not a handler
        LastAudit = DateTime.UtcNow.Ticks;
    }

    [Ordered]
    public int Receive(StockLine line)
    {
        Stock[line.Sku] = Stock.TryGetValue(line.Sku, out var have) ? have + line.Quantity : line.Quantity;
        Prices[line.Sku] = line.PriceCents;
        return Stock[line.Sku];
    }

    [Ordered]
    public Reservation? Reserve(string sku, int quantity)
    {
        if (!Stock.TryGetValue(sku, out var have) || have < quantity || Discontinued.Contains(sku)) return null;
        Stock[sku] = have - quantity;
        var reservation = new Reservation(Guid.CreateVersion7(), sku, quantity, OrderedContext.Timestamp); // expect: DER0002
        Reservations.Add(reservation);
        Interlocked.Increment(ref s_reservationsMade); // expect: DER0005
        return reservation;
    }

    [Ordered]
    public long Quote(string sku, int quantity) =>
        Prices.TryGetValue(sku, out var price) ? Pricing.Quote(price, quantity) : -1;

    [Ordered]
    public int Bucket(string sku) => Routing.BucketOf(sku, 16);

    [Ordered]
    public string Restock(int batchSize)
    {
        var low = new List<string>();
        foreach (var entry in Stock) // expect: DER0006
            if (entry.Value < batchSize) low.Add(entry.Key);
        var workers = Math.Max(1, Environment.ProcessorCount / 2); // expect: DER0011
        return string.Join(",", low.Take(workers));
    }

    [Ordered]
    public string Report()
    {
        // Deterministic: sorted by key with an ordinal comparer before use.
        var lines = Stock.OrderBy(e => e.Key, StringComparer.Ordinal).ThenBy(e => e.Value).Select(e => e.Key + "=" + e.Value);
        var gone = Discontinued.ToArray();
        Array.Sort(gone, StringComparer.Ordinal);
        var total = Stock.Values.Sum() + Stock.Count(e => e.Value == 0);
        return string.Join(";", lines) + "|" + string.Join(",", gone) + "|" + total;
    }

    [Ordered]
    public string Discontinue(string sku)
    {
        Discontinued.Add(sku);
        var names = Discontinued.Select(s => s.ToUpperInvariant()).ToList(); // expect: DER0006
        return names[0];
    }

    [Ordered]
    public long Audit()
    {
        LastAudit = Elapsed();
        return LastAudit + Reservations.Sum(r => r.Quantity * Weights.Of(r.Sku));

        long Elapsed() => Environment.TickCount64 - LastAudit; // expect: DER0001
    }

    [Ordered]
    public int Settle(string sku)
    {
        Ledger.Flush(); // blocks the shard, see Ledger
        return Reservations.RemoveAll(r => r.Sku == sku && r.Id.GetHashCode() % 2 == 0);
    }

    [Ordered]
    public long Priced(string sku) => Prices.TryGetValue(sku, out var p) ? p.Discounted() : 0;

    [Ordered]
    public int Tagged(string sku)
    {
        var seen = new HashSet<object> { sku };
        return seen.Count + sku.Length;
    }

    [Ordered]
    public long Ship(string sku, int zone) => s_policies[zone & 1].Cost(sku, Stock.TryGetValue(sku, out var n) ? n : 0);

    [Ordered]
    public string Retire(string sku)
    {
        Discontinued.Add(sku);
        Console.WriteLine("retired " + sku + "; now " + string.Join(",", Discontinued)); // a log line: nothing depends on its order
        var sorted = new List<string>(Discontinued);
        sorted.Sort(StringComparer.Ordinal);
        var oldest = new Queue<string>(Discontinued).Peek(); // expect: DER0006
        return string.Join(",", sorted) + "|" + Labels.Csv(Discontinued) + "|" + oldest;
    }

    [Ordered]
    public int Zone(string sku, string region) => Math.Abs((sku, region).GetHashCode()) % 8; // expect: DER0010

    [P2PCallable]
    public int Forget(string sku) => Housekeeping.Drop(Reservations, sku);

    [P2PCallable]
    public int Pending(string sku) => Housekeeping.CountFor(Reservations, sku);

    [P2PCallable]
    public int Available(string sku) => Stock.TryGetValue(sku, out var n) ? n : 0;

    [P2PCallable]
    public string Health() => $"{Environment.MachineName} at {DateTime.UtcNow:O}: {Stock.Count} SKUs";

    [P2PCallable]
    public int Touch(string sku)
    {
        Origin = sku; // expect: DER0007
        return Origin.Length;
    }

    // Not reachable from any handler: free to read the machine.
    public static string Describe() => Environment.ProcessorCount + " cores, " + Random.Shared.Next();
}

internal static class Pricing
{
    public static long Quote(long price, int quantity) => price * quantity * Seasonal.Factor() / 100;
}

internal static class Seasonal
{
    public static int Factor() => Clock.Now.Month is 11 or 12 ? 120 : 100;
}

internal static class Clock
{
    public static DateTime Now => DateTime.UtcNow; // expect: DER0001
}

internal static class Routing
{
    private static readonly ConcurrentDictionary<string, int> s_buckets = new(StringComparer.Ordinal);

    public static int BucketOf(string key, int buckets) =>
        s_buckets.GetOrAdd(key, k => (k.GetHashCode() & 0x7fffffff) % buckets); // expect: DER0005, DER0010
}

internal static class Weights
{
    private static readonly Dictionary<string, int> s_known = new(StringComparer.Ordinal) { ["heavy"] = 3 };

    public static int Of(string sku) => s_known.TryGetValue(sku, out var w) ? w : HashCode.Combine(sku, 1) & 3; // expect: DER0010
}

internal static class Ledger
{
    private static readonly object s_gate = new();

    public static void Flush()
    {
        lock (s_gate) // expect: DER0003
        {
            Thread.Sleep(5); // expect: DER0012
        }
    }
}

internal static class PriceExtensions
{
    public static long Discounted(this long price) => price - price / (Random.Shared.Next(10) + 10); // expect: DER0002
}

public interface IShippingPolicy
{
    long Cost(string sku, int quantity);
}

internal sealed class FlatShipping : IShippingPolicy
{
    public long Cost(string sku, int quantity) => 500 + quantity;
}

internal sealed class PeakShipping : IShippingPolicy
{
    public long Cost(string sku, int quantity) => DateTime.Now.Hour is >= 17 and <= 20 ? 900 : 600; // expect: DER0001
}

internal static class Labels
{
    public static string Csv(IEnumerable<string> items) => string.Join(",", items); // expect: DER0006
}

internal static class Housekeeping
{
    public static int Drop(List<Reservation> reservations, string sku) => reservations.RemoveAll(r => r.Sku == sku); // expect: DER0007

    public static int CountFor(List<Reservation> reservations, string sku) => reservations.Count(r => r.Sku == sku);
}

/// <summary>A key type with a stable, field-based hash: dictionaries of it are fine.</summary>
public sealed class SkuKey(string sku)
{
    public string Sku { get; } = sku;
    public override bool Equals(object? obj) => obj is SkuKey other && other.Sku == Sku;
    public override int GetHashCode() => HashCode.Combine(Sku);
}

/// <summary>Helpers nobody calls from a handler.</summary>
internal static class Diagnostics
{
    public static string Dump(Warehouse warehouse) =>
        string.Join(",", warehouse.Stock.Keys) + Environment.ProcessId + Guid.NewGuid() + DateTime.Now;
}
