using Derecho.Client;
using Derecho.Dashboard;
using Derecho.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace Derecho.Tests.Dashboard;

/// <summary>The dashboard in a real browser: headless Debian chromium driven by Playwright, against a group in this process.</summary>
public class DashboardBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [SkippableFact]
    public async Task Dashboard_shows_the_three_members_then_the_view_change_when_one_is_killed()
    {
        Skip.IfNot(File.Exists(Chromium), $"{Chromium} is not installed (.ci/run installs the Debian chromium package when it can)");
        var group = await InProcessGroup.StartAsync();
        await using var client = await DerechoClient.ConnectAsync(group.ClientOptions());

        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapDerechoDashboard("/derecho", client, options =>
        {
            options.Interval = TimeSpan.FromMilliseconds(500);
            options.Panels.Add(DashboardPanel.Create("Test panel", _ => Task.FromResult<IReadOnlyList<KeyValuePair<string, string>>>([new("client", client.Id.ToString())])));
        });
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/derecho/";

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        await page.GotoAsync(url);
        var members = page.Locator("#members tbody tr.member");
        await Assertions.Expect(members).ToHaveCountAsync(3, new LocatorAssertionsToHaveCountOptions { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#members .Running")).ToHaveCountAsync(3, new LocatorAssertionsToHaveCountOptions { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#view-id")).ToHaveTextAsync("0");
        await Assertions.Expect(page.Locator("#panels")).ToContainTextAsync("Test panel");

        var victim = group.Members.Last(m => m.MyId != client.Contact);
        await victim.DisposeAsync(); // to the others, a crash
        await Assertions.Expect(members).ToHaveCountAsync(2, new LocatorAssertionsToHaveCountOptions { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("#view-id")).Not.ToHaveTextAsync("0");
        await Assertions.Expect(page.Locator("#views tbody tr")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#events")).ToContainTextAsync($"(was view 0: 0, 1, 2)");

        var artifacts = Path.Combine(AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(artifacts);
        var screenshot = Path.Combine(artifacts, "dashboard-after-view-change.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 1000, "the screenshot was written");

        await app.StopAsync();
        await Task.WhenAll(group.Members.Where(m => m != victim).Select(m => m.ShutdownAsync()));
    }
}
