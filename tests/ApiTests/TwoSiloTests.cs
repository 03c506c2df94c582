using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace ApiPlatform.ApiTests;

/// <summary>Identity rules hold across silos of one cluster on PostgreSQL.</summary>
public sealed class TwoSiloTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>, IDisposable
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

    [Fact]
    public async Task An_event_stream_on_one_silo_and_on_the_gateway_only_role_sees_changes_made_through_the_other_silo()
    {
        var user = await First.RegisterAsync();
        await using var onFirst = await EventStreamReader.OpenAsync(First, user.Token);
        await using var onGateway = await EventStreamReader.OpenAsync(Gateway, user.Token);

        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((string)(await Second.PostAsync("/v1/resources", new { name = "cross " + i }, user.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!);
        }

        (await Second.PatchAsync($"/v1/resources/{ids[0]}", new { name = "changed" }, user.Token)).AssertStatus(HttpStatusCode.OK);
        var streamed = new List<string>();
        foreach (var stream in new[] { onFirst, onGateway })
        {
            var messages = await stream.NextAsync(4);
            Assert.Equal(["resource.created", "resource.created", "resource.created", "resource.updated"], messages.Select(m => m.Event));
            Assert.Equal([.. ids, ids[0]], messages.Select(m => (string)m.Data["data"]!["id"]!));
            streamed = [.. messages.Select(m => m.Id!)];
        }

        // The log lists the events in the order they committed, newest first, whichever silo's clock stamped them
        // (each test silo's clock stands still at its own start, so their timestamps disagree with that order).
        var all = (await Gateway.GetAsync("/v1/events?per_page=10", user.Token)).AssertStatus(HttpStatusCode.OK).Data.AsArray();
        Assert.Equal(Enumerable.Reverse(streamed), all.Select(e => (string)e!["id"]!));

        // A stream on the gateway resumes from the log of the cluster.
        await using var resumed = await EventStreamReader.OpenAsync(Gateway, user.Token, lastEventId: streamed[0]);
        Assert.Equal(ids[1], (string?)(await resumed.NextAsync()).Data["data"]!["id"]);
    }

    private async Task<string> KeyOfPlanAsync(string plan)
    {
        var admin = Credential.Bearer((string)(await First.LoginAsync(ApiServer.AdminEmail, ApiServer.AdminPassword))["access_token"]!);
        return (string)(await First.PostAsync("/v1/api-keys", new { name = plan, plan }, admin)).AssertStatus(HttpStatusCode.Created).Data["key"]!;
    }

    /// <summary>The grain that counts an API key's requests under a plan (the key the rate limiter charges).</summary>
    private IRateLimitGrain RateLimitGrainOf(string secret, string plan) =>
        cluster.First.Services.GetRequiredService<IGrainFactory>()
            .GetGrain<IRateLimitGrain>($"key:{(ApiKeyTokens.TryParse(secret, out var keyId, out _) ? keyId : null)}|{plan}");

    // `tiny` (5) is charged to the grain request by request; `busy` (300) is spent from leases the grain grants.
    [Theory]
    [InlineData("tiny", 5, 60, 40, "/v1/resources")]
    [InlineData("busy", 300, 3600, 450, "/v1/users/me")]
    public async Task The_rate_limit_is_exact_across_silos(string plan, int limit, int windowSeconds, int requests, string path)
    {
        var secret = await KeyOfPlanAsync(plan);
        var key = Credential.ApiKeyHeader(secret);
        async Task<int> BurstAsync(int count)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, count).Select(i => (i % 2 == 0 ? First : Second).GetAsync(path, key)));
            Assert.All(responses.Where(r => r.Status != HttpStatusCode.OK), r => r.AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded"));
            return responses.Count(r => r.Status == HttpStatusCode.OK);
        }

        // Never more than the limit. A silo whose requests stopped may still hold a token or two it leased (one lease
        // more than its last requests needed); those go back to the grain once the key is idle there.
        var admitted = await BurstAsync(requests);
        Assert.InRange(admitted, limit - 4, limit);
        var grain = RateLimitGrainOf(secret, plan);
        var policy = new RateLimitPolicy(plan, limit, windowSeconds);
        await Eventually.HoldsAsync(async () => (await grain.PeekAsync(policy)).Remaining == limit - admitted, "the unused leased tokens to go back");

        // The window's last tokens are then admitted, and not one more: exactly the limit in all.
        Assert.Equal(limit - admitted, await BurstAsync(limit));
    }

    [Fact]
    public async Task Tokens_a_silo_leased_but_did_not_use_go_back_to_the_other_silos()
    {
        var secret = await KeyOfPlanAsync("busy");
        var key = Credential.ApiKeyHeader(secret);

        // Two requests at once on First: the first of a key's requests there is charged alone, the other leases a few
        // tokens (300 / 100 = 3) and spends one; the other two go back once the key is idle there.
        var both = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => First.GetAsync("/v1/users/me", key)));
        Assert.All(both, r => r.AssertStatus(HttpStatusCode.OK));
        var grain = RateLimitGrainOf(secret, "busy");
        var policy = new RateLimitPolicy("busy", 300, 3600);
        await Eventually.HoldsAsync(async () => (await grain.PeekAsync(policy)).Remaining == 298, "the unused leased tokens to go back");

        // Second's request is counted against a pool that has the two back: two requests spent before, one now.
        Assert.Equal("297", (await Second.GetAsync("/v1/users/me", key)).AssertStatus(HttpStatusCode.OK).Header("X-RateLimit-Remaining"));
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
    public async Task Disabling_on_one_silo_stops_tokens_and_keys_on_the_other_and_the_gateway_at_once_and_enabling_restores_the_keys()
    {
        var admin = await First.AdminAsync();
        var user = await First.RegisterAsync();
        var (_, key) = await First.CreateApiKeyAsync(user.Token);
        // Every side has the account and the key in memory before the change.
        foreach (var client in new[] { First, Second, Gateway })
        {
            (await client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK);
            (await client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
        }

        await First.SetAccountAsync(admin, user.Id, new { disabled = true });

        foreach (var client in new[] { Second, Gateway, First })
        {
            (await client.GetAsync("/v1/users/me", user.Token)).AssertProblem(HttpStatusCode.Forbidden, "account_disabled");
            (await client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertProblem(HttpStatusCode.Forbidden, "account_disabled");
        }

        await Second.SetAccountAsync(admin, user.Id, new { disabled = false });

        foreach (var client in new[] { First, Gateway, Second })
        {
            (await client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task A_plan_change_on_one_silo_reaches_the_other_and_the_gateway_on_the_next_request()
    {
        var admin = await First.AdminAsync();
        var user = await First.RegisterAsync();
        var (_, key) = await First.CreateApiKeyAsync(user.Token);
        var org = await First.CreateOrgAsync(user);
        var orgKey = (string)(await First.PostAsync("/v1/api-keys", new { name = "org" }, user.Token, AccountHelpers.InOrg(org)))
            .AssertStatus(HttpStatusCode.Created).Data["key"]!;
        foreach (var client in new[] { Second, Gateway })
        {
            Assert.Equal("free", AccountHelpers.PlanOf((await client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK)));
            Assert.Equal("free", AccountHelpers.PlanOf((await client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK)));
            Assert.Equal("free", AccountHelpers.PlanOf((await client.GetAsync("/v1/resources", Credential.ApiKeyHeader(orgKey))).AssertStatus(HttpStatusCode.OK)));
        }

        await First.SetAccountAsync(admin, user.Id, new { plan = "pro" });
        (await First.PatchAsync($"/v1/organizations/{org}", new { plan = "enterprise" }, admin)).AssertStatus(HttpStatusCode.OK);

        foreach (var client in new[] { Second, Gateway })
        {
            Assert.Equal("pro", AccountHelpers.PlanOf((await client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK)));
            Assert.Equal("pro", AccountHelpers.PlanOf((await client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK)));
            Assert.Equal("enterprise", AccountHelpers.PlanOf((await client.GetAsync("/v1/resources", Credential.ApiKeyHeader(orgKey))).AssertStatus(HttpStatusCode.OK)));
        }
    }

    [Fact]
    public async Task A_role_change_on_one_silo_reaches_the_gateway_and_an_organization_keys_creator_demoted_there_suspends_it()
    {
        var admin = await First.AdminAsync();
        var owner = await First.RegisterAsync();
        var user = await First.RegisterAsync();
        var org = await First.CreateOrgAsync(owner);
        await First.AddMemberAsync(owner, org, user, "admin");
        var orgKey = Credential.ApiKeyHeader((string)(await Second.PostAsync("/v1/api-keys", new { name = "by admin" }, user.Token, AccountHelpers.InOrg(org)))
            .AssertStatus(HttpStatusCode.Created).Data["key"]!);
        (await Gateway.GetAsync("/v1/resources", orgKey)).AssertStatus(HttpStatusCode.OK);
        (await Gateway.GetAsync($"/v1/users/{owner.Id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Gateway.GetAsync($"/v1/users/{user.Id}", (await First.RegisterAsync()).Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");

        await First.SetAccountAsync(admin, user.Id, new { role = "admin" });
        (await Gateway.PatchAsync($"/v1/users/{owner.Id}", new { plan = "pro" }, user.Token)).AssertStatus(HttpStatusCode.OK);
        await Second.SetAccountAsync(admin, user.Id, new { role = "user" });
        (await Gateway.PatchAsync($"/v1/users/{owner.Id}", new { plan = "free" }, user.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");

        (await First.PatchAsync($"/v1/organizations/{org}/members/{user.Id}", new { role = "member" }, owner.Token)).AssertStatus(HttpStatusCode.OK);
        (await Gateway.GetAsync("/v1/resources", orgKey)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Second.GetAsync("/v1/resources", orgKey)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
    }

    [Fact]
    public async Task Concurrent_organization_creation_on_two_silos_and_the_gateway_cannot_pass_the_cap()
    {
        var user = await First.RegisterAsync();
        var clients = new[] { First, Second, Gateway };
        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            clients[i % 3].PostAsync("/v1/organizations", new { name = $"cluster race {i} {Guid.NewGuid():N}" }, user.Token)));

        Assert.Equal(3, responses.Count(r => r.Status == HttpStatusCode.Created));
        Assert.All(responses.Where(r => r.Status != HttpStatusCode.Created), r => r.AssertProblem(HttpStatusCode.PaymentRequired, "plan_limit_reached"));
        Assert.Equal(3, (int?)(await Second.GetAsync("/v1/usage", user.Token)).AssertStatus(HttpStatusCode.OK).Data["organizations"]!["used"]);
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
