using System.Text.Json;
using Derecho.Layout;
using Derecho.Samples.KvStore;
using Derecho.Tests.Support;

namespace Derecho.Tests.Cli;

/// <summary>The <c>derecho</c> CLI as a process against a group on loopback, its --json output parsed.</summary>
public class CliTests
{
    private static Task<InProcessGroup> StartKvGroupAsync() =>
        InProcessGroup.StartAsync(layout: l => l.Subgroup(context => new KvStore(context), ShardPolicy.Fixed(1, 3)));

    /// <summary>The group's settings, as InProcessGroup configures them (the CLI's defaults are the samples').</summary>
    private static string[] Settings(InProcessGroup group, string contact) =>
        ["--contact", contact, "--ring-bytes", (1 << 20).ToString(), "--max-payload-bytes", (64 << 10).ToString(), "--timeout", "10"];

    [Fact]
    public async Task Cli_puts_and_gets_a_key_and_reports_the_view_members_and_shard_versions_as_json()
    {
        await using var group = await StartKvGroupAsync();
        // A contact without its id: the CLI learns it from the view.
        var put = await CliProcess.RunAsync(["kv", "put", "colour", "green", "--json", .. Settings(group, $"127.0.0.1:{group.Ports[1]}")]);
        Assert.True(put.ExitCode == 0, put.ToString());
        using var putJson = JsonDocument.Parse(put.Output);
        var version = putJson.RootElement.GetProperty("version").GetInt64();
        Assert.True(version >= 0, put.ToString());
        Assert.Equal([0, 1, 2], putJson.RootElement.GetProperty("replicas").EnumerateArray().Select(r => r.GetProperty("member").GetInt32()).Order());

        var get = await CliProcess.RunAsync(["kv", "get", "colour", .. Settings(group, $"2=127.0.0.1:{group.Ports[2]}")]);
        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Equal("green", get.Output.Trim());
        var missing = await CliProcess.RunAsync(["kv", "get", "no-such-key", .. Settings(group, $"127.0.0.1:{group.Ports[0]}")]);
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains("no value for 'no-such-key'", missing.Error, StringComparison.Ordinal);

        var status = await CliProcess.RunAsync(["status", "--json", .. Settings(group, $"127.0.0.1:{group.Ports[0]}")]);
        Assert.True(status.ExitCode == 0, status.ToString());
        using var report = JsonDocument.Parse(status.Output);
        var root = report.RootElement;
        Assert.Equal(group.Members[0].View.Id, root.GetProperty("viewId").GetInt64());
        Assert.Equal(0, root.GetProperty("contactId").GetInt32());
        var members = root.GetProperty("members").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], members.Select(m => m.GetProperty("id").GetInt32()));
        Assert.All(members, m => Assert.Equal("Running", m.GetProperty("state").GetString()));
        Assert.All(members, m => Assert.Equal($"127.0.0.1:{group.Ports[m.GetProperty("id").GetInt32()]}", m.GetProperty("endpoint").GetString()));
        var shard = Assert.Single(root.GetProperty("shards").EnumerateArray());
        Assert.Contains("KvStore", shard.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.True(shard.GetProperty("persistent").GetBoolean());
        Assert.Equal([0, 1, 2], shard.GetProperty("members").EnumerateArray().Select(m => m.GetInt32()));
        Assert.True(shard.GetProperty("delivered").GetInt64() >= version, status.Output);
        var replicas = shard.GetProperty("replicas").EnumerateArray().ToList();
        Assert.Equal(3, replicas.Count);
        Assert.All(replicas, r => Assert.True(r.GetProperty("delivered").GetInt64() >= version, status.Output));

        var table = await CliProcess.RunAsync(["status", .. Settings(group, $"127.0.0.1:{group.Ports[0]}")]);
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.True(table.Output.Contains("Running", StringComparison.Ordinal), table.ToString());
        Assert.True(table.Output.Contains("KvStore", StringComparison.Ordinal), table.ToString());
    }

    [Fact]
    public async Task Cli_watch_prints_a_json_line_per_refresh_and_stops_after_its_seconds()
    {
        await using var group = await StartKvGroupAsync();
        var watch = await CliProcess.RunAsync(["watch", "--json", "--seconds", "2.5", "--interval", "0.5", .. Settings(group, $"127.0.0.1:{group.Ports[0]}")]);
        Assert.True(watch.ExitCode == 0, watch.ToString());
        var lines = watch.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= 3, watch.ToString());
        foreach (var line in lines)
        {
            using var report = JsonDocument.Parse(line);
            Assert.Equal(3, report.RootElement.GetProperty("members").GetArrayLength());
        }
    }

    [Fact]
    public async Task Cli_says_clearly_what_is_wrong_with_a_bad_contact_or_an_unreachable_group()
    {
        var bad = await CliProcess.RunAsync("status", "--contact", "not-a-contact");
        Assert.True(bad.ExitCode == 2, bad.ToString());
        Assert.Contains("expected HOST:PORT", bad.Error, StringComparison.Ordinal);
        var badPort = await CliProcess.RunAsync("status", "--contact", "127.0.0.1:99999");
        Assert.True(badPort.ExitCode == 2, badPort.ToString());
        Assert.Contains("is not a port", badPort.Error, StringComparison.Ordinal);

        var nobody = await CliProcess.RunAsync("status", "--contact", $"127.0.0.1:{Ports.Free(1)[0]}", "--timeout", "1");
        Assert.True(nobody.ExitCode == 3, nobody.ToString());
        Assert.Contains("cannot reach the group", nobody.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", nobody.Error, StringComparison.Ordinal); // a sentence, not a stack trace
    }
}
