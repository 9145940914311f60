using System.Diagnostics;
using Derecho.Tests.Support;

namespace Derecho.Tests.Packaging;

/// <summary>
/// The Derecho package as a user meets it: packed from this repository into a local folder feed,
/// referenced by a fresh console project in a temp folder, built and run.
/// </summary>
public class PackageTests
{
    private const string Program = """
        using Derecho.Rpc;
        using Derecho.Hosting;
        using Derecho.Membership;

        var port = int.Parse(args[0]);
        var options = new DerechoOptions { MyId = 0, Members = [new MemberOptions { Id = 0, Endpoint = $"127.0.0.1:{port}" }] };
        await using var group = await DerechoGroup.JoinAsync(options, layout => layout.Subgroup(_ => new Tally()));
        var tally = group.Subgroup<Tally>();
        var replies = await tally.Ordered.Add(5);
        var read = await tally.On(0).Read();
        Console.WriteLine($"PROXY-OK replies={replies.Count} from={replies[0].MemberId} value={replies[0].Value} read={read}");
        await group.ShutdownAsync();

        [Replicated]
        public partial class Tally
        {
            private long _total;

            [Ordered] public long Add(long amount) => _total += amount;

            [P2PCallable] public long Read() => _total;
        }
        """;

    private const string NonDeterministic = """
        using Derecho.Rpc;

        [Replicated]
        public partial class Clocked
        {
            private long _at;

            [Ordered] public void Touch() => _at = DateTime.Now.Ticks;
        }
        """;

    [Fact]
    public async Task Packed_library_generates_a_working_proxy_and_flags_clocks_in_a_fresh_project()
    {
        var root = Repository.Root;
        var work = Directory.CreateTempSubdirectory("derecho-package-");
        try
        {
            var feed = Path.Combine(work.FullName, "feed");
            // A dev pack, as a user makes it: no version given, so eng/Version.props' prefix with a time-stamped
            // prerelease suffix (a re-pack is never served from the NuGet cache as the old package). Found, not assumed.
            await Run(root, "dotnet", $"pack \"{Path.Combine(root, "Derecho.Runtime", "Derecho.Runtime.csproj")}\" -c Release -o \"{feed}\"");
            var package = Assert.Single(Directory.GetFiles(feed, "Derecho.*.nupkg"), f => !f.EndsWith(".snupkg", StringComparison.Ordinal));
            var version = Path.GetFileNameWithoutExtension(package)["Derecho.".Length..];
            Assert.Matches(@"^\d+\.\d+\.\d+-dev\.\d{14}$", version);
            Assert.True(File.Exists(Path.ChangeExtension(package, ".snupkg")), "the symbol package is made next to the package");
            using (var zip = System.IO.Compression.ZipFile.OpenRead(package))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
                foreach (var expected in new[] { "PACKAGE.md", "lib/net10.0/Derecho.Runtime.dll", "analyzers/dotnet/cs/Derecho.Generators.dll",
                             "analyzers/dotnet/cs/Derecho.Analyzers.dll", "analyzers/dotnet/cs/Derecho.Analyzers.CodeFixes.dll" })
                    Assert.Contains(expected, entries);
            }

            var app = Directory.CreateDirectory(Path.Combine(work.FullName, "app")).FullName;
            await File.WriteAllTextAsync(Path.Combine(app, "App.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Derecho" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="local" value="{feed}" />
                    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                  </packageSources>
                </configuration>
                """);
            await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), Program);

            // (a) the generated proxy is there and works against a real (one-member) group.
            var run = await Run(app, "dotnet", $"run -- {Ports.Free(1)[0]}");
            Assert.Contains("PROXY-OK replies=1 from=0 value=5 read=5", run);

            // (b) DateTime.Now inside an [Ordered] handler is reported by the packaged analyzer.
            await File.WriteAllTextAsync(Path.Combine(app, "Clocked.cs"), NonDeterministic);
            var build = await Run(app, "dotnet", "build --no-incremental");
            Assert.Contains("warning DER0001", build);
            Assert.Contains("'DateTime.Now' reads this machine's clock", build);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<string> Run(string directory, string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The test host's MSBuild settings must not leak into the child build.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k == "MSBUILD_EXE_PATH").ToList())
            info.Environment.Remove(key);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var text = await output + await error;
        Assert.True(process.ExitCode == 0, $"'{file} {arguments}' exited {process.ExitCode}:\n{text}");
        return text;
    }

}
