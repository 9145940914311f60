using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Derecho.Client;
using Derecho.Errors;
using Derecho.Hosting;
using Derecho.Membership;
using Derecho.Testing;

namespace Derecho.FaultTests;

public sealed record FaultRunConfig
{
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);
    public int Members { get; init; } = 3;
    public int Clients { get; init; } = 2;
    public int ThreadsPerClient { get; init; } = 3;
    public int Keys { get; init; } = 5;
    public int FailureTimeoutMs { get; init; } = 2000;
    public int RequestTimeoutMs { get; init; } = 10_000;
    public bool P2PReads { get; init; }
    /// <summary>FAULTS_MUTATION value given to every member ("stale-read"), or null.</summary>
    public string? Mutation { get; init; }
    /// <summary>Fault kinds the nemesis draws from; null: all that fit <see cref="Members"/>.</summary>
    public IReadOnlyList<string>? Faults { get; init; }
    public int Seed { get; init; } = 1;
    /// <summary>
    /// Members (and clients) in network namespaces, for the partition and slow-link faults: null = when possible
    /// (root, iproute2), false = on loopback.
    /// </summary>
    public bool? Namespaces { get; init; }
}

/// <summary>What one fault did, against what the README says it should do.</summary>
public sealed record FaultEvent(string Kind, int Member, double AtSeconds, bool AsExpected, string Detail);

public sealed record FaultRunResult(
    int Operations, int Ok, int Failed, int Unknown, int Hangs, int Divergent,
    IReadOnlyDictionary<string, int> FaultsByKind, IReadOnlyList<FaultEvent> Events,
    int KeysChecked, int Anomalies, int Undecided, bool DigestsAgree, IReadOnlyList<string> Digests,
    bool FinalReadsOk, bool EndedInBound, double Seconds, string CheckerReport, string HistoryPath, int Skipped = 0)
{
    public bool Passed => Anomalies == 0 && Undecided == 0 && Hangs == 0 && DigestsAgree && FinalReadsOk && EndedInBound && Divergent == 0 && Events.All(e => e.AsExpected);
}

/// <summary>
/// One fault-suite run: real member processes, client workload processes, a nemesis, then heal, final reads,
/// digests and the linearizability check of the whole history. See README.md for every fault's expected behaviour.
/// </summary>
public static partial class FaultRun
{
    public static readonly string[] AllFaults = ["kill-random", "kill-leader", "kill-contact", "pause-short", "pause-long", "kill-joiner", "kill-all", "kill-staggered", "partition", "slow-link", "disk-full"];

    public static async Task<FaultRunResult> RunAsync(FaultRunConfig config, Action<string> log)
    {
        var total = Stopwatch.StartNew();
        var origin = Stopwatch.GetTimestamp();
        var random = new Random(config.Seed);
        var directory = Path.Combine(Path.GetTempPath(), "derecho-faults", $"{Environment.ProcessId}-{config.Seed}-{DateTime.UtcNow.Ticks}");
        Directory.CreateDirectory(directory);
        var ports = FreePorts(config.Members);
        NetworkNamespaces? hosts = null;
        var noNamespaces = config.Namespaces == false ? "not asked for" : NetworkNamespaces.Unavailable();
        if (noNamespaces is null)
        {
            try { hosts = new NetworkNamespaces(config.Members + 1, $"drf{Environment.ProcessId % 10000}", 80 + Environment.ProcessId % 150); }
            catch (InvalidOperationException e) { noNamespaces = e.Message; }
        }
        if (config.Namespaces == true && hosts is null) throw new InvalidOperationException($"network namespaces asked for but unavailable: {noNamespaces}");
        var addresses = Enumerable.Range(0, config.Members).Select(i => hosts is null ? "127.0.0.1" : hosts.Address(i)).ToArray();
        var environment = config.Mutation is null ? null : new Dictionary<string, string> { ["FAULTS_MUTATION"] = config.Mutation };
        var members = new ChildProcess?[config.Members];
        var retired = new List<ChildProcess>();
        var clients = new List<ChildProcess>();
        // disk-full: each member's data directory is a tmpfs of its own (root only), which the fault fills.
        var disks = Environment.UserName == "root" && OperatingSystem.IsLinux() ? new SmallDisks(Path.Combine(directory, "data"), config.Members) : null;
        var faults = (config.Faults ?? AllFaults.Where(f => (f != "kill-staggered" || config.Members >= 5) && (hosts is not null || f is not ("partition" or "slow-link"))
            && (disks is not null || f != "disk-full")).ToList()).ToList();
        if (disks is null && faults.Contains("disk-full")) throw new InvalidOperationException("disk-full needs root (a tmpfs per member)");
        if (hosts is null && faults.Any(f => f is "partition" or "slow-link")) throw new InvalidOperationException($"partition and slow-link faults need network namespaces: {noNamespaces}");
        var counts = faults.ToDictionary(f => f, _ => 0);
        var events = new List<FaultEvent>();
        double Now() => Stopwatch.GetElapsedTime(origin).TotalSeconds;
        string MemberArgs(int id, bool join) =>
            $"--member {id} --ports {string.Join(',', ports)}{(hosts is null ? "" : $" --hosts {string.Join(',', addresses)}")} --data {Path.Combine(directory, "data")} --failure-timeout-ms {config.FailureTimeoutMs}" + (join ? " --join" : "");
        log($"fault run: {config.Members} members, {config.Clients} clients x {config.ThreadsPerClient} processes, {config.Keys} keys, " +
            $"{config.Duration.TotalSeconds:0}s, faults [{string.Join(", ", faults)}], reads {(config.P2PReads ? "P2P" : "ordered")}, " +
            $"mutation {config.Mutation ?? "none"}, seed {config.Seed}, in {directory}; " +
            (hosts is null ? $"on loopback (no partitions or slow links: {noNamespaces})" : "members and clients in network namespaces"));
        try
        {
            for (var id = 0; id < config.Members; id++) members[id] = ChildProcess.Start($"member {id}", MemberArgs(id, join: false), environment, hosts?.Namespace(id));
            foreach (var member in members)
                if (!await member!.WaitForLineAsync("READY", TimeSpan.FromSeconds(90)))
                    throw new InvalidOperationException($"{member.Name} not ready:\n{Transcript(members)}");
            var contacts = string.Join(',', Enumerable.Range(0, config.Members).Select(i => $"{i}={addresses[i]}:{ports[i]}"));
            for (var c = 0; c < config.Clients; c++)
            {
                var client = ChildProcess.Start($"client {c}",
                    $"--client {c} --contacts {contacts} --keys {config.Keys} --threads {config.ThreadsPerClient} --out {Path.Combine(directory, $"history-{c}.jsonl")} " +
                    $"--reads {(config.P2PReads ? "p2p" : "ordered")} --seed {config.Seed * 10 + c} --request-timeout-ms {config.RequestTimeoutMs}" +
                    (hosts is null ? "" : $" --listen {hosts.Address(config.Members)}"), networkNamespace: hosts?.Namespace(config.Members));
                clients.Add(client);
            }
            foreach (var client in clients)
                if (!await client.WaitForLineAsync("CONNECTED", TimeSpan.FromSeconds(60)))
                    throw new InvalidOperationException($"{client.Name} did not connect:\n{string.Join('\n', client.Output)}");
            log($"{Now():0.0}s: members ready, clients connected");

            // The nemesis: one fault at a time, healed before the next (so a majority always stays up).
            var failure = TimeSpan.FromMilliseconds(config.FailureTimeoutMs);
            var deadline = config.Duration;
            var faultIndex = 0;
            var skipped = 0;
            while (total.Elapsed < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(1000, 2500)));
                if (total.Elapsed >= deadline) break;
                if (faults.Count == 0) continue;
                // Round-robin over a shuffled order: every kind shows up in a short run.
                if (faultIndex % faults.Count == 0) faults = faults.OrderBy(_ => random.Next()).ToList();
                var kind = faults[faultIndex++ % faults.Count];
                counts[kind]++;
                var view = CurrentView(members);
                if (view.Members.Count < config.Members)
                {
                    // A member did not come back from the last fault: never fault a group that is not whole
                    // (it could leave a minority). Try to bring it back; skip the fault either way.
                    for (var id = 0; id < config.Members; id++)
                        if (!view.Members.Contains(id)) await Restart(id);
                    counts[kind]--;
                    skipped++;
                    log($"{Now():0.0}s: {kind} skipped: the view {view} is not whole");
                    continue;
                }
                var target = kind switch
                {
                    "kill-leader" => view.Members.Min(),
                    "kill-contact" => ContactOf(clients[random.Next(clients.Count)]) ?? view.Members[random.Next(view.Members.Count)],
                    _ => view.Members[random.Next(view.Members.Count)],
                };
                var at = Now();
                switch (kind)
                {
                    case "kill-random" or "kill-leader" or "kill-contact":
                        {
                            members[target]!.Kill();
                            var removed = await WaitForView(members, v => !v.Members.Contains(target), TimeSpan.FromSeconds(30));
                            var back = await Restart(target);
                            events.Add(new FaultEvent(kind, target, at, removed && back, $"removed from the view: {removed}; rejoined: {back}"));
                            break;
                        }
                    case "kill-joiner":
                        {
                            // Killed, restarted, and killed again while joining (join request, view change, state transfer).
                            members[target]!.Kill();
                            var removed = await WaitForView(members, v => !v.Members.Contains(target), TimeSpan.FromSeconds(30));
                            await members[target]!.WaitForExitAsync(TimeSpan.FromSeconds(10));
                            retired.Add(members[target]!);
                            var joiner = members[target] = ChildProcess.Start($"member {target}", MemberArgs(target, join: true), environment, hosts?.Namespace(target));
                            await Task.Delay(random.Next(300, 1500));
                            var joinedFirst = joiner.Printed("READY");
                            joiner.Kill();
                            // Whether it got in or not, the group goes on without it; then it joins for good.
                            var without = await WaitForView(members, v => !v.Members.Contains(target), TimeSpan.FromSeconds(30));
                            var back = await Restart(target);
                            events.Add(new FaultEvent(kind, target, at, removed && without && back,
                                $"removed: {removed}; joiner killed {(joinedFirst ? "after" : "before")} it was READY; group without it: {without}; rejoined: {back}"));
                            break;
                        }
                    case "kill-all":
                        {
                            // Every member SIGKILLed at once, then a total restart: each from its data directory, without
                            // Join; they agree on the newest view any of them logged and take the longest log as the history.
                            foreach (var id in view.Members) members[id]!.Kill();
                            foreach (var id in view.Members)
                            {
                                await members[id]!.WaitForExitAsync(TimeSpan.FromSeconds(10));
                                retired.Add(members[id]!);
                            }
                            foreach (var id in view.Members) members[id] = ChildProcess.Start($"member {id}", MemberArgs(id, join: false), environment, hosts?.Namespace(id));
                            var ready = true;
                            foreach (var id in view.Members) ready &= await members[id]!.WaitForLineAsync("READY", TimeSpan.FromSeconds(90));
                            var whole = ready && await WaitForView(members, v => v.Members.Count == config.Members, TimeSpan.FromSeconds(30));
                            target = -1;
                            events.Add(new FaultEvent(kind, target, at, ready && whole, $"all {view.Members.Count} members SIGKILLed and restarted from their logs: all ready: {ready}; one view of all: {whole}"));
                            break;
                        }
                    case "disk-full":
                        {
                            // The member's disk fills up: its log cannot be written, so it must stop at once (it can never again
                            // make an update durable) and the others go on; with space again, it rejoins.
                            disks!.Fill(target);
                            var exited = await members[target]!.WaitForExitAsync(TimeSpan.FromSeconds(30));
                            var code = exited ? members[target]!.ExitCode : -1;
                            var why = members[target]!.LastLineStartingWith("STOPPED") ?? "";
                            var removed = await WaitForView(members, v => !v.Members.Contains(target), TimeSpan.FromSeconds(30));
                            disks.Free(target);
                            var back = await Restart(target);
                            events.Add(new FaultEvent(kind, target, at, exited && code == 3 && why.Contains("cannot be written", StringComparison.Ordinal) && removed && back,
                                $"stopped: {exited} (code {code}) {why}; removed: {removed}; rejoined with space again: {back}"));
                            break;
                        }
                    case "kill-staggered":
                        {
                            var second = view.Members.Where(m => m != target).OrderBy(_ => random.Next()).First();
                            members[target]!.Kill();
                            await Task.Delay(random.Next(200, 1500));
                            members[second]!.Kill();
                            var removed = await WaitForView(members, v => !v.Members.Contains(target) && !v.Members.Contains(second), TimeSpan.FromSeconds(40));
                            var back = await Restart(target) & await Restart(second);
                            events.Add(new FaultEvent(kind, target, at, removed && back, $"killed {target} then {second}; both removed: {removed}; both rejoined: {back}"));
                            break;
                        }
                    case "pause-short":
                        {
                            var before = CurrentView(members).Id;
                            members[target]!.Signal(stop: true);
                            await Task.Delay(failure / 4);
                            members[target]!.Signal(stop: false);
                            await Task.Delay(failure);
                            var after = CurrentView(members);
                            var stayed = after.Members.Contains(target) && !members[target]!.HasExited;
                            events.Add(new FaultEvent(kind, target, at, stayed, $"paused {failure.TotalMilliseconds / 4:0} ms; views {before} -> {after.Id}; still a member: {stayed}"));
                            if (!stayed) await Restart(target);
                            break;
                        }
                    case "partition":
                        {
                            // The member alone on its side: the majority removes it; it sees fewer than a majority and stops.
                            hosts!.Cut(target);
                            var removed = await WaitForView(members, v => !v.Members.Contains(target), failure * 2 + TimeSpan.FromSeconds(20));
                            var exited = await members[target]!.WaitForExitAsync(TimeSpan.FromSeconds(20));
                            var code = exited ? members[target]!.ExitCode : -1;
                            var why = members[target]!.LastLineStartingWith("STOPPED") ?? "";
                            hosts.Heal(target);
                            var back = await Restart(target);
                            events.Add(new FaultEvent(kind, target, at, removed && exited && code == 3 && back,
                                $"removed by the majority: {removed}; isolated side stopped: {exited} (code {code}) {why}; rejoined after healing: {back}"));
                            break;
                        }
                    case "slow-link":
                        {
                            var before = CurrentView(members).Id;
                            hosts!.Slow(target, "2mbit");
                            await Task.Delay(failure * 2);
                            hosts.Slow(target, null);
                            await Task.Delay(failure / 2);
                            var after = CurrentView(members);
                            var stayed = after.Members.Contains(target) && !members[target]!.HasExited;
                            events.Add(new FaultEvent(kind, target, at, stayed, $"link at 2 Mbit/s for {failure.TotalSeconds * 2:0} s; views {before} -> {after.Id}; still a member: {stayed}"));
                            if (!stayed) await Restart(target);
                            break;
                        }
                    case "pause-long":
                        {
                            members[target]!.Signal(stop: true);
                            var removed = await WaitForView(members, v => !v.Members.Contains(target), failure * 2.5 + TimeSpan.FromSeconds(20));
                            members[target]!.Signal(stop: false);
                            var exited = await members[target]!.WaitForExitAsync(TimeSpan.FromSeconds(20));
                            var code = exited ? members[target]!.ExitCode : -1;
                            var why = members[target]!.LastLineStartingWith("STOPPED") ?? "";
                            var back = await Restart(target);
                            events.Add(new FaultEvent(kind, target, at, removed && exited && code == 3 && back,
                                $"removed while frozen: {removed}; exited after SIGCONT: {exited} (code {code}) {why}; rejoined: {back}"));
                            break;
                        }
                }
                var last = events[^1];
                log($"{at:0.0}s: {kind} member {target}: {(last.AsExpected ? "as expected" : "NOT AS EXPECTED")} ({last.Detail})");
            }

            // Heal: every member back and in one view.
            for (var id = 0; id < config.Members; id++)
                if (members[id]!.HasExited) await Restart(id);
            var healed = await WaitForView(members, v => v.Members.Count == config.Members, TimeSpan.FromSeconds(60));
            log($"{Now():0.0}s: healed: {healed}, view {CurrentView(members)}; stopping the clients");

            foreach (var client in clients) client.Send("stop");
            var clientBound = TimeSpan.FromMilliseconds(config.RequestTimeoutMs) + TimeSpan.FromSeconds(30);
            var clientsEnded = true;
            foreach (var client in clients) clientsEnded &= await client.WaitForExitAsync(clientBound) && client.ExitCode == 0;
            var results = clients.Select(c => c.LastLineStartingWith("RESULT") ?? $"{c.Name}: no RESULT; output:\n{string.Join('\n', c.Output.TakeLast(30))}").ToList();
            foreach (var r in results) log(r);

            // Final reads (ordered, recorded into the history after everything else) and replica digests.
            var history = new List<Op>();
            for (var c = 0; c < config.Clients; c++)
            {
                var file = Path.Combine(directory, $"history-{c}.jsonl");
                if (File.Exists(file)) history.AddRange(HistoryFile.Read(file));
            }
            var (finals, digests, finalOk) = await FinalChecks(ports, addresses, hosts is null ? "127.0.0.1" : hosts.HostAddress, config, history);
            history.AddRange(finals);
            var historyPath = Path.Combine(directory, "history.jsonl");
            HistoryFile.Write(historyPath, history.OrderBy(o => o.Invoke));
            var verdict = Linearizability.Check(history);
            var report = verdict.Report(origin);
            log(report.TrimEnd());
            var digestsAgree = digests.Count == config.Members && digests.Select(d => d[(d.IndexOf('=') + 1)..]).Distinct().Count() == 1;

            foreach (var member in members) member!.Send("shutdown");
            var shutDown = true;
            foreach (var member in members) shutDown &= await member!.WaitForExitAsync(TimeSpan.FromSeconds(30));
            try { Directory.Delete(Path.Combine(directory, "data"), recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            var hangs = results.Sum(r => Field(r, "hangs"));
            var result = new FaultRunResult(
                history.Count, history.Count(o => o.Outcome == Outcome.Ok), history.Count(o => o.Outcome == Outcome.Fail), history.Count(o => o.Outcome == Outcome.Unknown),
                hangs, results.Sum(r => Field(r, "divergent")), counts, events,
                verdict.Keys.Count, verdict.Anomalies.Count(), verdict.Undecided.Count(), digestsAgree, digests, finalOk,
                healed && clientsEnded && shutDown, total.Elapsed.TotalSeconds, report, historyPath, skipped);
            log(Table(result));
            log(Json(result));
            if (!result.Passed && !result.EndedInBound) log(Transcript(members.Concat(clients).ToArray()));
            return result;
        }
        finally
        {
            foreach (var p in members.Concat(retired).Concat(clients)) p?.Dispose();
            hosts?.Dispose();
            disks?.Dispose();
            // Every process's output, incarnation by incarnation, beside the history.
            var incarnations = new Dictionary<string, int>();
            foreach (var p in retired.Concat(members).Concat(clients))
            {
                if (p is null) continue;
                var n = incarnations[p.Name] = incarnations.GetValueOrDefault(p.Name) + 1;
                File.WriteAllLines(Path.Combine(directory, $"{p.Name.Replace(' ', '-')}.{n}.log"), p.Output);
            }
        }

        async Task<bool> Restart(int id)
        {
            if (members[id] is { HasExited: false } alive) alive.Kill();
            if (members[id] is { } old) { await old.WaitForExitAsync(TimeSpan.FromSeconds(10)); retired.Add(old); }
            members[id] = ChildProcess.Start($"member {id}", MemberArgs(id, join: true), environment, hosts?.Namespace(id));
            if (!await members[id]!.WaitForLineAsync("READY", TimeSpan.FromSeconds(60))) return false;
            return await WaitForView(members, v => v.Members.Contains(id), TimeSpan.FromSeconds(30));
        }
    }

    private static async Task<(List<Op> Finals, List<string> Digests, bool Ok)> FinalChecks(int[] ports, string[] addresses, string listen, FaultRunConfig config, List<Op> history)
    {
        var finals = new List<Op>();
        var digests = new List<string>();
        await using var client = await DerechoClient.ConnectAsync(new DerechoClientOptions
        {
            Contacts = ports.Select((port, id) => new MemberOptions { Id = id, Endpoint = $"{addresses[id]}:{port}" }).ToList(),
            ListenEndpoint = $"{listen}:0",
            AllowInsecure = listen != "127.0.0.1",
            RingBytes = 1 << 20,
            MaxPayloadBytes = 64 << 10,
            RequestTimeout = TimeSpan.FromSeconds(20),
        });
        var register = client.Subgroup<FaultRegister>();
        var ok = true;
        foreach (var key in history.Select(o => o.Key).Distinct().Order(StringComparer.Ordinal))
        {
            var invoke = Stopwatch.GetTimestamp();
            try
            {
                var replies = await register.Ordered.Read(key);
                ok &= replies.Count == config.Members && replies.Select(r => r.Value).Distinct().Count() == 1;
                finals.Add(new Op(999_999, Op.Read, key, replies[0].Value, invoke, Stopwatch.GetTimestamp(), Outcome.Ok, "final read"));
            }
            catch (DerechoException e)
            {
                ok = false;
                finals.Add(new Op(999_999, Op.Read, key, null, invoke, Stopwatch.GetTimestamp(), Outcome.Unknown, $"final read failed: {e.Message}"));
            }
        }
        foreach (var member in register.Members) digests.Add($"{member}={await register.On(member).Digest()}");
        return (finals, digests, ok);
    }

    private static int Field(string line, string name)
    {
        var m = Regex.Match(line, $@"\b{name}=(\d+)");
        return m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    public static string Table(FaultRunResult r)
    {
        var lines = new List<string>
        {
            "| operations | ok | fail | unknown | faults injected | faults as expected | histories (keys) checked | anomalies | undecided | hangs | divergent reads | digests agree | final reads | seconds |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            $"| {r.Operations} | {r.Ok} | {r.Failed} | {r.Unknown} | {string.Join(", ", r.FaultsByKind.Select(f => $"{f.Key} {f.Value}"))} | " +
            $"{r.Events.Count(e => e.AsExpected)}/{r.Events.Count} | {r.KeysChecked} | {r.Anomalies} | {r.Undecided} | {r.Hangs} | {r.Divergent} | {r.DigestsAgree} | {r.FinalReadsOk} | {r.Seconds:0} |",
        };
        return string.Join('\n', lines);
    }

    public static string Json(FaultRunResult r) => JsonSerializer.Serialize(new
    {
        operations = r.Operations,
        ok = r.Ok,
        fail = r.Failed,
        unknown = r.Unknown,
        faults = r.FaultsByKind,
        faults_as_expected = r.Events.Count(e => e.AsExpected),
        faults_total = r.Events.Count,
        faults_skipped = r.Skipped,
        histories_checked = r.KeysChecked,
        anomalies = r.Anomalies,
        undecided = r.Undecided,
        hangs = r.Hangs,
        divergent = r.Divergent,
        digests_agree = r.DigestsAgree,
        final_reads_ok = r.FinalReadsOk,
        ended_in_bound = r.EndedInBound,
        seconds = Math.Round(r.Seconds, 1),
        passed = r.Passed,
    });

    private sealed record ViewLine(long Id, List<int> Members)
    {
        public override string ToString() => $"{Id} [{string.Join(',', Members)}]";
    }

    [GeneratedRegex(@"^(?:VIEW id=|READY member=\d+ view=)(\d+) members=([\d,]*)")]
    private static partial Regex ViewPattern();

    /// <summary>The newest view any running member printed.</summary>
    private static ViewLine CurrentView(ChildProcess?[] members) =>
        members.Where(m => m is { HasExited: false }).SelectMany(m => m!.Output)
            .Select(l => ViewPattern().Match(l)).Where(m => m.Success)
            .Select(m => new ViewLine(long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList()))
            .MaxBy(v => v.Id) ?? new ViewLine(-1, []);

    private static async Task<bool> WaitForView(ChildProcess?[] members, Func<ViewLine, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (CurrentView(members) is { Id: >= 0 } view && condition(view)) return true;
            await Task.Delay(50);
        }
        return false;
    }

    private static int? ContactOf(ChildProcess client) =>
        client.LastLineStartingWith("CONTACT ") is { } line ? int.Parse(line["CONTACT ".Length..], CultureInfo.InvariantCulture) : null;

    private static string Transcript(IEnumerable<ChildProcess?> processes) =>
        string.Join('\n', processes.Where(p => p is not null).SelectMany(p => p!.Output.TakeLast(40).Select(l => $"[{p!.Name}] {l}")));

    private static int[] FreePorts(int count)
    {
        // Below Linux's ephemeral range, as tests/Derecho.Tests/Support/Ports.cs explains.
        var ports = new HashSet<int>();
        while (ports.Count < count)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                listener.Stop();
                ports.Add(port);
            }
            catch (SocketException) { }
        }
        return ports.ToArray();
    }
}
