using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace ApiPlatform.ApiTests;

/// <summary>Identity rules hold across silos of one cluster on PostgreSQL.</summary>
public sealed class ClusterTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>, IDisposable
{
    private ApiClient? _first;
    private ApiClient? _second;
    private ApiClient? _gateway;

    private ApiClient First => _first ??= Ready().First.CreateClient();

    private ApiClient Second => _second ??= Ready().Second.CreateClient();

    private ApiClient Gateway => _gateway ??= Ready().Gateway.CreateClient();

    private TwoSiloCluster Ready()
    {
        Assert.SkipUnless(cluster.Available, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        return cluster;
    }

    [Fact]
    public async Task Concurrent_registrations_of_one_email_on_two_silos_create_exactly_one_account()
    {
        var email = $"Race{Guid.NewGuid():N}@example.test";
        var attempts = Enumerable.Range(0, 16).Select(i => (i % 2 == 0 ? First : Second).PostAsync("/v1/auth/register",
            new { email = i % 3 == 0 ? email.ToUpperInvariant() : email, username = $"race{i}x{Guid.NewGuid().ToString("N")[..6]}", password = "password-123" }));
        var responses = await Task.WhenAll(attempts);

        Assert.Single(responses, r => r.Status == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.Status != HttpStatusCode.Created), r => r.AssertProblem(HttpStatusCode.Conflict, "already_exists"));
        await Second.LoginAsync(email, "password-123");
        await First.LoginAsync(email, "password-123");
    }

    [Fact]
    public async Task Concurrent_registrations_of_one_username_on_two_silos_create_exactly_one_account()
    {
        var username = "same" + Guid.NewGuid().ToString("N")[..8];
        var attempts = Enumerable.Range(0, 16).Select(i => (i % 2 == 0 ? First : Second).PostAsync("/v1/auth/register",
            new { email = $"u{i}x{Guid.NewGuid():N}@example.test", username = i % 2 == 0 ? username : username.ToUpperInvariant(), password = "password-123" }));
        var responses = await Task.WhenAll(attempts);
        Assert.Single(responses, r => r.Status == HttpStatusCode.Created);
    }

    [Fact]
    public async Task A_key_revoked_or_rolled_on_one_silo_is_refused_on_the_other_at_once()
    {
        var user = await First.RegisterAsync();
        var (revokedId, revoked) = await First.CreateApiKeyAsync(user.Token);
        var (rolledId, rolled) = await First.CreateApiKeyAsync(user.Token);
        (await Second.GetAsync("/v1/users/me", Credential.ApiKeyHeader(revoked))).AssertStatus(HttpStatusCode.OK);
        (await Second.GetAsync("/v1/users/me", Credential.Bearer(rolled))).AssertStatus(HttpStatusCode.OK);

        (await First.DeleteAsync($"/v1/api-keys/{revokedId}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        var fresh = (string)(await First.PostAsync($"/v1/api-keys/{rolledId}/roll", null, user.Token)).AssertStatus(HttpStatusCode.OK).Data["key"]!;

        (await Second.GetAsync("/v1/users/me", Credential.ApiKeyHeader(revoked))).AssertProblem(HttpStatusCode.Unauthorized, "revoked_api_key");
        (await Second.GetAsync("/v1/users/me", Credential.Bearer(rolled))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");
        (await Second.GetAsync("/v1/users/me", Credential.Bearer(fresh))).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Logout_on_one_silo_ends_the_session_on_the_other()
    {
        var user = await First.RegisterAsync();
        (await Second.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK);
        (await First.PostAsync("/v1/auth/logout", null, user.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Second.GetAsync("/v1/users/me", user.Token)).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Second.PostAsync("/v1/auth/refresh", new { refresh_token = user.RefreshToken })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
    }

    private async Task<string> KeyOfPlanAsync(string plan)
    {
        var admin = Credential.Bearer((string)(await First.LoginAsync(ApiServer.AdminEmail, ApiServer.AdminPassword))["access_token"]!);
        return (string)(await First.PostAsync("/v1/api-keys", new { name = plan, plan }, admin)).AssertStatus(HttpStatusCode.Created).Data["key"]!;
    }

    // `tiny` (5) is charged to the grain request by request; `busy` (300) is spent from leases the grain grants.
    [Theory]
    [InlineData("tiny", 5, 40, "/v1/resources")]
    [InlineData("busy", 300, 450, "/v1/users/me")]
    public async Task The_rate_limit_is_exact_across_silos(string plan, int limit, int requests, string path)
    {
        var key = await KeyOfPlanAsync(plan);

        var responses = await Task.WhenAll(Enumerable.Range(0, requests).Select(i =>
            (i % 2 == 0 ? First : Second).GetAsync(path, Credential.ApiKeyHeader(key))));

        Assert.Equal(limit, responses.Count(r => r.Status == HttpStatusCode.OK));
        Assert.All(responses.Where(r => r.Status != HttpStatusCode.OK), r => r.AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded"));
    }

    [Fact]
    public async Task Tokens_a_silo_leased_but_did_not_use_go_back_to_the_other_silos()
    {
        var secret = await KeyOfPlanAsync("busy");
        var key = Credential.ApiKeyHeader(secret);

        // First leases a few tokens (300 / 100 = 3) and spends one; the other two go back once the key is idle there.
        Assert.Equal("299", (await First.GetAsync("/v1/users/me", key)).AssertStatus(HttpStatusCode.OK).Header("X-RateLimit-Remaining"));
        var grain = cluster.First.Services.GetRequiredService<IGrainFactory>()
            .GetGrain<IRateLimitGrain>($"key:{(ApiKeyTokens.TryParse(secret, out var keyId, out _) ? keyId : null)}|busy");
        var policy = new RateLimitPolicy("busy", 300, 3600);
        await Eventually.HoldsAsync(async () => (await grain.PeekAsync(policy)).Remaining == 299, "the unused leased tokens to go back");

        // Second's lease comes from a pool that has the two back: one request spent in all, one now.
        Assert.Equal("298", (await Second.GetAsync("/v1/users/me", key)).AssertStatus(HttpStatusCode.OK).Header("X-RateLimit-Remaining"));
    }

    [Fact]
    public async Task Writes_through_one_silo_are_read_through_the_other()
    {
        var user = await First.RegisterAsync();
        var id = (string)(await First.PostAsync("/v1/resources", new { name = "shared" }, user.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        var list = (await Second.GetAsync("/v1/resources", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(id, (string?)list.Data[0]!["id"]);

        (await Second.PatchAsync($"/v1/resources/{id}", new { name = "changed" }, user.Token)).AssertStatus(HttpStatusCode.OK);
        var viaFirst = (await First.GetAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("changed", (string?)viaFirst.Data["name"]);
        Assert.Equal("\"2\"", viaFirst.Header("ETag"));
        (await First.PatchAsync($"/v1/resources/{id}", new { name = "stale" }, user.Token, r => r.Headers.TryAddWithoutValidation("If-Match", "\"1\"")))
            .AssertProblem(HttpStatusCode.PreconditionFailed, "precondition_failed");

        var key = Guid.NewGuid().ToString();
        var a = (await First.PostAsync("/v1/resources", new { name = "once" }, user.Token, r => r.Headers.TryAddWithoutValidation("Idempotency-Key", key))).AssertStatus(HttpStatusCode.Created);
        var b = (await Second.PostAsync("/v1/resources", new { name = "once" }, user.Token, r => r.Headers.TryAddWithoutValidation("Idempotency-Key", key))).AssertStatus(HttpStatusCode.Created);
        Assert.Equal(a.Body, b.Body);
        Assert.Equal("true", b.Header("Idempotent-Replayed"));

        (await Second.DeleteAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        Assert.Equal(1, (int?)(await First.GetAsync("/v1/resources", user.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task The_gateway_only_role_serves_the_same_api_over_the_cluster()
    {
        var ready = (await Gateway.GetAsync("/health/ready")).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("ok", (string?)ready.Json["checks"]!["cluster"]!["status"]);

        var user = await Gateway.RegisterAsync();
        var id = (string)(await Gateway.PostAsync("/v1/resources", new { name = "via gateway" }, user.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        (await First.GetAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        var (keyId, key) = await Second.CreateApiKeyAsync(user.Token);
        (await Gateway.GetAsync("/v1/resources", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
        (await First.DeleteAsync($"/v1/api-keys/{keyId}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Gateway.GetAsync("/v1/resources", Credential.ApiKeyHeader(key))).AssertProblem(HttpStatusCode.Unauthorized, "revoked_api_key");
        (await Gateway.GetAsync("/swagger/v1/swagger.json")).AssertStatus(HttpStatusCode.OK);

        // The Orleans Dashboard is a silo's: the gateway-only role has none (its /metrics it has).
        (await Gateway.GetAsync("/dashboard/", Credential.Bearer(ApiServer.ManagementToken))).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await First.GetAsync("/dashboard/DashboardCounters", Credential.Bearer(ApiServer.ManagementToken))).AssertStatus(HttpStatusCode.OK);
        Assert.True((await PrometheusScrape.GetAsync(cluster.Gateway.ManagementAddress!)).Contains("http_server_request_duration_seconds_count"));
    }

    [Fact]
    public async Task Membership_changes_on_one_silo_take_effect_on_the_other_at_once()
    {
        var owner = await First.RegisterAsync();
        var member = await First.RegisterAsync();
        var org = (string)(await First.PostAsync("/v1/organizations", new { name = "x", slug = "c-" + Guid.NewGuid().ToString("N")[..10] }, owner.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        (await Second.PostAsync($"/v1/organizations/{org}/members", new { user_id = member.Id }, owner.Token)).AssertStatus(HttpStatusCode.Created);
        (await First.GetAsync("/v1/resources", member.Token, r => r.Headers.TryAddWithoutValidation("X-Organization-Id", org))).AssertStatus(HttpStatusCode.OK);
        (await First.DeleteAsync($"/v1/organizations/{org}/members/{member.Id}", owner.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Second.GetAsync("/v1/resources", member.Token, r => r.Headers.TryAddWithoutValidation("X-Organization-Id", org)))
            .AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
    }

    [Fact]
    public async Task Both_silos_are_ready_members_of_one_cluster()
    {
        foreach (var client in new[] { First, Second })
        {
            var ready = (await client.GetAsync("/health/ready")).AssertStatus(HttpStatusCode.OK);
            Assert.Equal("ok", (string?)ready.Json["checks"]!["silo"]!["status"]);
        }
    }

    public void Dispose()
    {
        _first?.Dispose();
        _second?.Dispose();
        _gateway?.Dispose();
    }
}
