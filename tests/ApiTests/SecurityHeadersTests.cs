using System.Net;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>Security headers on every response, and no caching of responses that carry secrets.</summary>
public abstract class SecurityHeadersTests(ApiServer server) : ApiTestBase(server)
{
    private static void AssertSecurityHeaders(ApiResponse response)
    {
        Assert.Equal("nosniff", response.Header("X-Content-Type-Options"));
        Assert.Equal("no-referrer", response.Header("Referrer-Policy"));
        Assert.Equal("DENY", response.Header("X-Frame-Options"));
        var csp = response.Header("Content-Security-Policy");
        Assert.NotNull(csp);
        Assert.Contains("default-src 'none'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        // Plain HTTP from a client that is not a trusted proxy: no HSTS (RFC 6797 forbids it there).
        Assert.Null(response.Header("Strict-Transport-Security"));
    }

    private static void AssertNoStore(ApiResponse response)
    {
        Assert.Equal("no-store", response.Header("Cache-Control"));
        Assert.Equal("no-cache", response.Header("Pragma"));
    }

    [Fact]
    public async Task Every_kind_of_response_carries_the_security_headers()
    {
        var user = await Client.RegisterAsync();
        AssertSecurityHeaders((await Client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK));
        AssertSecurityHeaders(await Client.GetAsync("/v1/users/me"));                       // 401 problem
        AssertSecurityHeaders(await Client.GetAsync("/v1/no-such-route"));                  // 404 from routing
        AssertSecurityHeaders(await Client.DeleteAsync("/v1/auth/login"));                  // 405 from routing
        AssertSecurityHeaders((await Client.GetAsync("/health")).AssertStatus(HttpStatusCode.OK));
        var created = (await Client.PostAsync("/v1/resources", new { name = "r" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        AssertSecurityHeaders(created);
    }

    [Fact]
    public async Task Swagger_ui_gets_a_policy_that_lets_it_run_from_its_own_origin()
    {
        var page = (await Client.GetAsync("/swagger/index.html")).AssertStatus(HttpStatusCode.OK);
        var csp = page.Header("Content-Security-Policy")!;
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
    }

    [Fact]
    public async Task Responses_that_carry_secrets_are_not_stored_by_caches()
    {
        var email = $"nostore{Guid.NewGuid():N}@example.test";
        var register = (await Client.PostAsync("/v1/auth/register",
            new { email, username = "ns" + Guid.NewGuid().ToString("N")[..10], password = "correct-horse-battery" })).AssertStatus(HttpStatusCode.Created);
        AssertNoStore(register);
        var token = Credential.Bearer((string)register.Json["access_token"]!);

        var login = (await Client.PostAsync("/v1/auth/login", new { email, password = "correct-horse-battery" })).AssertStatus(HttpStatusCode.OK);
        AssertNoStore(login);
        AssertNoStore((await Client.PostAsync("/v1/auth/refresh", new { refresh_token = (string)login.Json["refresh_token"]! })).AssertStatus(HttpStatusCode.OK));

        var key = (await Client.PostAsync("/v1/api-keys", new { name = "k" }, token)).AssertStatus(HttpStatusCode.Created);
        AssertNoStore(key);
        AssertNoStore((await Client.PostAsync($"/v1/api-keys/{(string)key.Data["id"]!}/roll", null, token)).AssertStatus(HttpStatusCode.OK));

        var hook = (await Client.PostAsync("/v1/webhooks", new { url = "http://127.0.0.1:9/hook", events = new[] { "resource.created" } }, token))
            .AssertStatus(HttpStatusCode.Created);
        AssertNoStore(hook);
        AssertNoStore((await Client.PostAsync($"/v1/webhooks/{(string)hook.Data["id"]!}/rotate-secret", null, token)).AssertStatus(HttpStatusCode.OK));
    }
}

[Collection(Servers.Embedded)]
public sealed class SecurityHeadersTestsOnEmbedded(EmbeddedServer server) : SecurityHeadersTests(server);

[Collection(Servers.Postgres)]
public sealed class SecurityHeadersTestsOnPostgres(PostgresServer server) : SecurityHeadersTests(server);

/// <summary>A production host that was not told to expose its OpenAPI document serves neither it nor Swagger UI.</summary>
public sealed class OpenApiInProductionTests : IAsyncLifetime
{
    private readonly EmbeddedServer _server = new();

    public async ValueTask InitializeAsync()
    {
        _server.Overrides["Gateway:ExposeOpenApi"] = null;
        await _server.InitializeAsync();
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task The_openapi_document_and_swagger_ui_are_not_served()
    {
        using var client = _server.CreateClient();
        (await client.GetAsync("/swagger/v1/swagger.json")).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await client.GetAsync("/swagger/index.html")).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await client.GetAsync("/health")).AssertStatus(HttpStatusCode.OK);
    }
}
