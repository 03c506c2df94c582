using System.Diagnostics;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>The Swagger UI page, rendered by a real browser (headless Chromium from Debian's packages).</summary>
[Collection(Servers.Embedded)]
public sealed class SwaggerUiTests(EmbeddedServer server) : ApiTestBase(server)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task Swagger_ui_renders_the_api_operations_in_a_browser()
    {
        if (!File.Exists(Chromium))
        {
            Assert.SkipUnless(Environment.GetEnvironmentVariable("CI") == "true" || Environment.GetEnvironmentVariable("REQUIRE_POSTGRES") == "1",
                "Chromium is not installed (apt-get install chromium); ./test.sh installs it.");
            Assert.Fail("Chromium is required here: ./test.sh installs it.");
        }

        var profile = Directory.CreateTempSubdirectory("chromium-profile-");
        try
        {
            var info = new ProcessStartInfo(Chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                $"--user-data-dir={profile.FullName}",
                // Lets the page's scripts fetch the OpenAPI document and render before the DOM is dumped.
                "--virtual-time-budget=15000",
                "--dump-dom", new Uri(Server.BaseAddress, "/swagger/index.html").ToString(),
            ])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var browser = Process.Start(info)!;
            var dom = browser.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var errors = browser.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(90));
            await browser.WaitForExitAsync(timeout.Token);
            var html = await dom;

            Assert.True(html.Contains("opblock-summary-path", StringComparison.Ordinal), "Swagger UI rendered no operation. " + (await errors)[..Math.Min(2000, (await errors).Length)]);
            foreach (var path in new[] { "/v1/resources", "/v1/auth/login", "/v1/api-keys", "/v1/organizations", "/v1/users/me" })
            {
                Assert.Contains(path, html, StringComparison.Ordinal);
            }
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }
}
