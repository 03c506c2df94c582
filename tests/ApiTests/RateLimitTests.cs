using System.Globalization;
using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace ApiPlatform.ApiTests;

/// <summary>Per-credential request budgets by plan, with the standard headers.</summary>
public abstract class RateLimitTests(ApiServer server) : ApiTestBase(server)
{
    private async Task<string> KeyWithPlanAsync(string plan)
    {
        var admin = Credential.Bearer((string)(await Client.LoginAsync(ApiServer.AdminEmail, ApiServer.AdminPassword))["access_token"]!);
        var created = (await Client.PostAsync("/v1/api-keys", new { name = plan, plan }, admin)).AssertStatus(HttpStatusCode.Created);
        return (string)created.Data["key"]!;
    }

    private static int Int(ApiResponse response, string header) =>
        int.Parse(response.Header(header) ?? throw new InvalidOperationException($"{header} missing"), CultureInfo.InvariantCulture);

    [Fact]
    public async Task Every_response_carries_the_rate_limit_headers_counting_down()
    {
        var user = await Client.RegisterAsync();
        var first = (await Client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK);
        var second = (await Client.GetAsync("/v1/resources", user.Token)).AssertStatus(HttpStatusCode.OK);
        var error = await Client.GetAsync("/v1/resources/res_AAAAAAAAAAAAAAAAAAAAAA", user.Token);

        Assert.Equal(60, Int(first, "X-RateLimit-Limit"));
        Assert.Equal(59, Int(first, "X-RateLimit-Remaining"));
        Assert.Equal(58, Int(second, "X-RateLimit-Remaining"));
        Assert.Equal(57, Int(error, "X-RateLimit-Remaining"));
        var reset = Int(first, "X-RateLimit-Reset");
        var now = Server.Time.GetUtcNow().ToUnixTimeSeconds();
        Assert.InRange(reset, now + 1, now + 60);
        Assert.Equal("\"free\";q=60;w=60", first.Header("RateLimit-Policy"));
        Assert.Matches("^\"free\";r=59;t=\\d+$", first.Header("RateLimit"));
    }

    [Fact]
    public async Task A_spent_budget_is_429_with_retry_after_until_the_window_resets()
    {
        var key = await KeyWithPlanAsync("tiny");
        for (var i = 0; i < 5; i++)
        {
            var ok = (await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
            Assert.Equal(4 - i, Int(ok, "X-RateLimit-Remaining"));
        }

        var refused = await Client.PostAsync("/v1/resources", new { name = "refused" }, Credential.ApiKeyHeader(key));
        refused.AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.InRange(Int(refused, "Retry-After"), 1, 60);
        Assert.Equal(0, Int(refused, "X-RateLimit-Remaining"));
        Assert.Equal(5, Int(refused, "X-RateLimit-Limit"));

        Server.Time.Advance(TimeSpan.FromSeconds(61));
        (await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
        // The refused create did no work.
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(key))).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task Each_credential_has_its_own_budget()
    {
        var spent = await KeyWithPlanAsync("tiny");
        var fresh = await KeyWithPlanAsync("tiny");
        for (var i = 0; i < 6; i++)
        {
            await Client.GetAsync("/v1/resources", Credential.Bearer(spent));
        }

        (await Client.GetAsync("/v1/resources", Credential.Bearer(spent))).AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        (await Client.GetAsync("/v1/resources", Credential.Bearer(fresh))).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Plan_limits_come_from_configuration()
    {
        var key = await KeyWithPlanAsync("pro");
        var response = (await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(1234, Int(response, "X-RateLimit-Limit"));
    }

    [Fact]
    public async Task A_plan_with_limit_zero_is_unlimited()
    {
        var key = await KeyWithPlanAsync("unlimited");
        for (var i = 0; i < 70; i++)
        {
            var response = (await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
            Assert.Null(response.Header("X-RateLimit-Limit"));
        }
    }

    [Fact]
    public async Task Unauthenticated_and_failed_requests_are_limited_by_client_address()
    {
        var response = await Client.PostAsync("/v1/auth/login", new { email = "nobody@example.test", password = "wrong-password" });
        response.AssertProblem(HttpStatusCode.Unauthorized, "invalid_credentials");
        Assert.Equal(1_000_000, Int(response, "X-RateLimit-Limit"));

        var failed = await Client.GetAsync("/v1/resources", Credential.ApiKeyHeader("sk_forged"));
        failed.AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");
        Assert.Equal(1_000_000, Int(failed, "X-RateLimit-Limit"));
    }

    [Fact]
    public async Task Health_probes_are_never_limited()
    {
        var live = await Client.GetAsync("/health");
        Assert.Null(live.Header("X-RateLimit-Limit"));
        Assert.Null((await Client.GetAsync("/health/ready")).Header("X-RateLimit-Limit"));
    }

    // `tiny` (5) is charged to the grain request by request; `busy` (300) is spent from leases the grain grants.
    [Theory]
    [InlineData("tiny", 5, 30, "/v1/resources")]
    [InlineData("busy", 300, 450, "/v1/users/me")]
    public async Task Concurrent_requests_admit_exactly_the_limit(string plan, int limit, int requests, string path)
    {
        var key = await KeyWithPlanAsync(plan);
        var responses = await Task.WhenAll(Enumerable.Range(0, requests).Select(_ => Client.GetAsync(path, Credential.ApiKeyHeader(key))));
        Assert.Equal(limit, responses.Count(r => r.Status == HttpStatusCode.OK));
        Assert.Equal(requests - limit, responses.Count(r => r.Status == HttpStatusCode.TooManyRequests));
        Assert.All(responses.Where(r => r.Status != HttpStatusCode.OK), r => r.AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded"));
        Assert.All(responses.Where(r => r.Status != HttpStatusCode.OK), r => Assert.Equal(0, Int(r, "X-RateLimit-Remaining")));
    }

    [Fact]
    public async Task A_key_used_once_leaves_no_tokens_leased_its_grain_counted_the_one_request()
    {
        var secret = await KeyWithPlanAsync("busy");
        var response = (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(secret))).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(299, Int(response, "X-RateLimit-Remaining"));

        // Nothing held back on the silo for a later request that may never come (and a grain call to return it).
        Assert.True(ApiKeyTokens.TryParse(secret, out var keyId, out _));
        var grain = Server.Services.GetRequiredService<IGrainFactory>().GetGrain<IRateLimitGrain>($"key:{keyId}|busy");
        Assert.Equal(299, (await grain.PeekAsync(new RateLimitPolicy("busy", 300, 3600))).Remaining);
    }

    [Fact]
    public async Task A_leased_budget_counts_down_one_per_request()
    {
        var key = Credential.ApiKeyHeader(await KeyWithPlanAsync("busy"));
        for (var expected = 299; expected > 290; expected--)
        {
            var response = (await Client.GetAsync("/v1/users/me", key)).AssertStatus(HttpStatusCode.OK);
            Assert.Equal(300, Int(response, "X-RateLimit-Limit"));
            Assert.Equal(expected, Int(response, "X-RateLimit-Remaining"));
        }
    }

}

[Collection(Servers.Embedded)]
public sealed class RateLimitTestsOnEmbedded(EmbeddedServer server) : RateLimitTests(server);

[Collection(Servers.Postgres)]
public sealed class RateLimitTestsOnPostgres(PostgresServer server) : RateLimitTests(server);
