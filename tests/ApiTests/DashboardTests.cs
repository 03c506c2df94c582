using System.Net;
using System.Text.Json.Nodes;
using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Grains.Users;

namespace ApiPlatform.ApiTests;

/// <summary>
/// The Orleans Dashboard at /dashboard: system administrators (signed in through its page, in a real browser) and
/// the management token get in; everyone else gets 401 or 403.
/// </summary>
public abstract class DashboardTests(ApiServer server) : ApiTestBase(server)
{
    private Uri Page(string path) => new(Server.BaseAddress, path);

    private static string SignIn(string email, string password) => $$"""
        (() => {
          document.getElementById('email').value = {{System.Text.Json.JsonSerializer.Serialize(email)}};
          document.getElementById('password').value = {{System.Text.Json.JsonSerializer.Serialize(password)}};
          document.getElementById('signin').requestSubmit();
          return true;
        })()
        """;

    [Fact]
    public async Task An_administrator_signs_in_in_a_browser_and_sees_grain_and_silo_figures()
    {
        await using var browser = await HeadlessChromium.StartAsync();
        await browser.NavigateAsync(Page("/dashboard/"));
        await browser.WaitUntilAsync("document.readyState === 'complete' && document.getElementById('signin') !== null", "the sign-in page in place of the dashboard");

        await browser.EvaluateAsync(SignIn(ApiServer.AdminEmail, ApiServer.AdminPassword));

        // The overview's counters: activations across the cluster and the silos that are up, both with a figure.
        await browser.WaitUntilAsync(
            "location.pathname === '/dashboard/' && /total activations\\s*[1-9]/i.test(document.body.innerText)"
            + " && /active silos\\s*[1-9]/i.test(document.body.innerText)",
            "the dashboard's overview with the active silo count");
        // The grains page lists the product's grain types with their activations.
        await browser.EvaluateAsync("location.hash = '#/grains'; true");
        await browser.WaitUntilAsync("/UserGrain/.test(document.body.innerText) && /SessionGrain/.test(document.body.innerText)",
            "the grain types on the grains page");
        // The silos page lists this silo.
        await browser.EvaluateAsync("location.hash = '#/silos'; true");
        await browser.WaitUntilAsync("/Active/.test(document.body.innerText) && /127\\.0\\.0\\.1/.test(document.body.innerText)", "the silo on the silos page");
    }

    [Fact]
    public async Task A_signed_in_user_who_is_not_an_administrator_is_refused()
    {
        var user = await Client.RegisterAsync("nonadmin");
        await using var browser = await HeadlessChromium.StartAsync();
        await browser.NavigateAsync(Page("/dashboard/"));
        await browser.WaitUntilAsync("document.readyState === 'complete' && document.getElementById('signin') !== null", "the sign-in page");
        await browser.EvaluateAsync(SignIn(user.Email, user.Password));
        await browser.WaitUntilAsync("/not a system administrator/.test(document.getElementById('message').innerText)", "the refusal on the page");
        Assert.Equal("/dashboard/", (string?)await browser.EvaluateAsync("location.pathname"));

        // The same over plain HTTP: no cookie for a user, and their token does not open the dashboard's data.
        (await Client.PostAsync("/dashboard/session", null, user.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.GetAsync("/dashboard/DashboardCounters", user.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.GetAsync("/dashboard/DashboardCounters")).AssertProblem(HttpStatusCode.Unauthorized, "authentication_required");
        (await Client.GetAsync("/dashboard/index.min.js")).AssertProblem(HttpStatusCode.Unauthorized, "authentication_required");
        var forged = await Client.GetAsync("/dashboard/DashboardCounters",
            configure: r => r.Headers.TryAddWithoutValidation("Cookie", "dashboard_session=" + user.AccessToken));
        forged.AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task An_administrators_cookie_opens_the_dashboard_until_they_log_out()
    {
        var login = await Client.LoginAsync(ApiServer.AdminEmail, ApiServer.AdminPassword);
        var token = Credential.Bearer((string)login["access_token"]!);
        var minted = (await Client.PostAsync("/dashboard/session", null, token)).AssertStatus(HttpStatusCode.NoContent);
        var setCookie = minted.Header("Set-Cookie")!;
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/dashboard", setCookie, StringComparison.OrdinalIgnoreCase);
        var cookie = setCookie.Split(';')[0];
        void WithCookie(HttpRequestMessage r) => r.Headers.TryAddWithoutValidation("Cookie", cookie);

        var counters = (await Client.GetAsync("/dashboard/DashboardCounters", configure: WithCookie)).AssertStatus(HttpStatusCode.OK).Json;
        Assert.True((int?)counters["totalActiveHostCount"] >= 1);
        (await Client.GetAsync("/dashboard/", configure: WithCookie)).AssertStatus(HttpStatusCode.OK);
        // The cookie is no access token.
        (await Client.GetAsync("/v1/users/me", Credential.Bearer(cookie["dashboard_session=".Length..]))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");

        (await Client.PostAsync("/v1/auth/logout", null, token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.GetAsync("/dashboard/DashboardCounters", configure: WithCookie)).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task While_the_dashboard_is_open_it_profiles_grain_calls_and_collects_the_silo_counters()
    {
        // Profiling and counter collection run only while a dashboard polls (DashboardProfilingGate); polling its
        // data as the page does switches them on, and the calls made meanwhile show up in its figures. The user grain
        // is looked up on its own page: the top-methods list holds five entries, and the other tests sharing this
        // silo can fill them.
        var management = Credential.Bearer(ApiServer.ManagementToken);
        var user = await Client.RegisterAsync("profiled");
        var seen = "";
        await Eventually.HoldsAsync(async () =>
        {
            var counters = (await Client.GetAsync("/dashboard/DashboardCounters", management)).AssertStatus(HttpStatusCode.OK).Json;
            (await Client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK);
            var grain = (await Client.GetAsync("/dashboard/GrainStats/" + typeof(UserGrain).FullName, management)).AssertStatus(HttpStatusCode.OK).Body;
            var silo = (string)counters["hosts"]![0]!["siloAddress"]!;
            var siloCounters = (await Client.GetAsync("/dashboard/SiloCounters/" + silo, management)).AssertStatus(HttpStatusCode.OK).Body;
            seen = grain[..Math.Min(300, grain.Length)] + "\n" + siloCounters[..Math.Min(300, siloCounters.Length)];
            var profiled = JsonNode.Parse(grain)!.AsObject().Any(perSilo => perSilo.Value!.AsObject().Count > 0);
            return profiled && siloCounters.Contains("orleans-", StringComparison.Ordinal);
        }, "the user grain's calls on its dashboard page and Orleans' counters on its silo page", describe: () => seen);
    }

    [Fact]
    public async Task The_management_token_opens_the_dashboard_and_a_wrong_one_does_not()
    {
        var management = Credential.Bearer(ApiServer.ManagementToken);
        (await Client.GetAsync("/dashboard/DashboardCounters", management)).AssertStatus(HttpStatusCode.OK);
        var minted = (await Client.PostAsync("/dashboard/session", null, management)).AssertStatus(HttpStatusCode.NoContent);
        var cookie = minted.Header("Set-Cookie")!.Split(';')[0];
        (await Client.GetAsync("/dashboard/GrainTypes", configure: r => r.Headers.TryAddWithoutValidation("Cookie", cookie))).AssertStatus(HttpStatusCode.OK);

        var wrong = Credential.Bearer(ApiServer.ManagementToken + "x");
        (await Client.GetAsync("/dashboard/DashboardCounters", wrong)).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.PostAsync("/dashboard/session", null, wrong)).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task A_browser_without_a_session_gets_the_sign_in_page_with_401()
    {
        var page = await Client.GetAsync("/dashboard/", configure: r => r.Headers.TryAddWithoutValidation("Accept", "text/html"));
        page.AssertStatus(HttpStatusCode.Unauthorized);
        Assert.StartsWith("text/html", page.ContentHeaders?.ContentType?.ToString());
        Assert.Contains("id=\"signin\"", page.Body, StringComparison.Ordinal);
        Assert.Equal("DENY", page.Header("X-Frame-Options"));
        (await Client.GetAsync("/dashboard/login")).AssertStatus(HttpStatusCode.OK);

        // The dashboard is not part of the public API's document.
        var document = (await Client.GetAsync("/swagger/v1/swagger.json")).AssertStatus(HttpStatusCode.OK).Json;
        Assert.DoesNotContain(document["paths"]!.AsObject(), p => p.Key.StartsWith("/dashboard", StringComparison.Ordinal));
    }
}

[Collection(Servers.Embedded)]
public sealed class DashboardTestsOnEmbedded(EmbeddedServer server) : DashboardTests(server);

[Collection(Servers.Postgres)]
public sealed class DashboardTestsOnPostgres(PostgresServer server) : DashboardTests(server);
