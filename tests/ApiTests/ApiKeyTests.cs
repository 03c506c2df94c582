using System.Net;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>API keys: shown once, stored hashed, accepted both ways, scoped, expiring, rolled and revoked.</summary>
public abstract class ApiKeyTests(ApiServer server) : ApiTestBase(server)
{
    [Fact]
    public async Task A_created_key_is_shown_once_and_listed_by_prefix_and_last_four()
    {
        var user = await Client.RegisterAsync();
        var created = (await Client.PostAsync("/v1/api-keys", new { name = "ci", scopes = new[] { "read" } }, user.Token))
            .AssertStatus(HttpStatusCode.Created);
        var key = (string)created.Data["key"]!;
        var id = (string)created.Data["id"]!;
        Assert.StartsWith("sk_", key);
        Assert.StartsWith("key_", id);
        Assert.Equal($"/v1/api-keys/{id}", created.Header("Location"));
        Assert.Equal(key[^4..], (string?)created.Data["last_four"]);
        Assert.Equal("free", (string?)created.Data["plan"]);
        Assert.Equal("active", (string?)created.Data["status"]);
        Assert.Equal(user.Id, (string?)created.Data["owner_id"]);

        var one = (await Client.GetAsync($"/v1/api-keys/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        var list = (await Client.GetAsync("/v1/api-keys", user.Token)).AssertStatus(HttpStatusCode.OK);
        foreach (var body in new[] { one.Body, list.Body })
        {
            Assert.DoesNotContain(key, body);
            Assert.DoesNotContain(key[3..], body);
        }

        Assert.Equal("sk_", (string?)one.Data["prefix"]);
        Assert.Equal(key[^4..], (string?)one.Data["last_four"]);
        Assert.Null(one.Data["key"]);
        Assert.Equal(1, (int?)list.Json["meta"]!["total"]);
        Assert.Equal(id, (string?)list.Data[0]!["id"]);
    }

    [Fact]
    public async Task A_key_works_as_x_api_key_and_as_bearer_and_acts_for_its_owner()
    {
        var user = await Client.RegisterAsync();
        var (_, key) = await Client.CreateApiKeyAsync(user.Token);

        foreach (var credential in new[] { Credential.ApiKeyHeader(key), Credential.Bearer(key) })
        {
            var me = (await Client.GetAsync("/v1/users/me", credential)).AssertStatus(HttpStatusCode.OK);
            Assert.Equal(user.Id, (string?)me.Data["id"]);
        }
    }

    [Fact]
    public async Task Each_key_failure_names_its_cause()
    {
        var user = await Client.RegisterAsync();
        var (id, key) = await Client.CreateApiKeyAsync(user.Token);

        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader("sk_unknown"))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key[..^1] + (key[^1] == 'a' ? 'b' : 'a'))))
            .AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");
        (await Client.GetAsync("/v1/users/me", Credential.Bearer("sk_" + new string('x', 80)))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");

        (await Client.DeleteAsync($"/v1/api-keys/{id}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertProblem(HttpStatusCode.Unauthorized, "revoked_api_key");
        (await Client.GetAsync("/v1/users/me", Credential.Bearer(key))).AssertProblem(HttpStatusCode.Unauthorized, "revoked_api_key");
    }

    [Theory]
    [InlineData(3600)] // the silo's memory of the key is renewed from its grain on the way (ApiKeyCache.MaxAge)
    [InlineData(10)] // all within one entry of that memory: it checks the expiry itself
    public async Task A_key_in_use_stops_working_when_it_expires(int lifetimeSeconds)
    {
        var user = await Client.RegisterAsync();
        var expiresAt = Server.Time.GetUtcNow().AddSeconds(lifetimeSeconds);
        var (id, key) = await Client.CreateApiKeyAsync(user.Token, new { name = "short", expires_at = expiresAt.ToString("O") });
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
        Server.Time.Advance(TimeSpan.FromSeconds(lifetimeSeconds - 1));
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);

        Server.Time.Advance(TimeSpan.FromSeconds(1));

        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertProblem(HttpStatusCode.Unauthorized, "expired_api_key");
        var view = (await Client.GetAsync($"/v1/api-keys/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("expired", (string?)view.Data["status"]);
    }

    [Fact]
    public async Task Rolling_a_key_gives_a_new_secret_and_the_old_one_dies_at_once()
    {
        var user = await Client.RegisterAsync();
        var (id, oldKey) = await Client.CreateApiKeyAsync(user.Token);

        var rolled = (await Client.PostAsync($"/v1/api-keys/{id}/roll", null, user.Token)).AssertStatus(HttpStatusCode.OK);
        var newKey = (string)rolled.Data["key"]!;
        Assert.NotEqual(oldKey, newKey);
        Assert.Equal(id, (string?)rolled.Data["id"]);
        Assert.NotNull((string?)rolled.Data["rolled_at"]);

        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(oldKey))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(newKey))).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_revoked_key_stays_visible_and_cannot_be_rolled()
    {
        var user = await Client.RegisterAsync();
        var (id, _) = await Client.CreateApiKeyAsync(user.Token);

        (await Client.DeleteAsync($"/v1/api-keys/{id}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.DeleteAsync($"/v1/api-keys/{id}", user.Token)).AssertStatus(HttpStatusCode.NoContent);

        var view = (await Client.GetAsync($"/v1/api-keys/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("revoked", (string?)view.Data["status"]);
        Assert.NotNull((string?)view.Data["revoked_at"]);
        (await Client.PostAsync($"/v1/api-keys/{id}/roll", null, user.Token)).AssertProblem(HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task A_key_can_revoke_itself_and_is_refused_on_the_next_request()
    {
        var user = await Client.RegisterAsync();
        var (id, key) = await Client.CreateApiKeyAsync(user.Token, new { name = "manager", scopes = new[] { "read", "write", "keys" } });

        (await Client.DeleteAsync($"/v1/api-keys/{id}", Credential.Bearer(key))).AssertStatus(HttpStatusCode.NoContent);
        (await Client.GetAsync("/v1/api-keys", Credential.Bearer(key))).AssertProblem(HttpStatusCode.Unauthorized, "revoked_api_key");
    }

    [Fact]
    public async Task A_read_only_key_can_read_but_not_write()
    {
        var user = await Client.RegisterAsync();
        var (_, key) = await Client.CreateApiKeyAsync(user.Token, new { name = "reader", scopes = new[] { "read", "keys" } });

        (await Client.GetAsync("/v1/api-keys", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
        var refused = await Client.PostAsync("/v1/api-keys", new { name = "escalate" }, Credential.ApiKeyHeader(key));
        refused.AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PatchAsync("/v1/users/me", new { profile = new { first_name = "x" } }, Credential.ApiKeyHeader(key)))
            .AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        Assert.Equal(1, (int?)(await Client.GetAsync("/v1/api-keys", user.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task A_write_only_key_cannot_read()
    {
        var user = await Client.RegisterAsync();
        var (_, key) = await Client.CreateApiKeyAsync(user.Token, new { name = "writer", scopes = new[] { "write" } });
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
    }

    [Fact]
    public async Task Another_tenants_key_answers_404_on_every_verb()
    {
        var owner = await Client.RegisterAsync();
        var stranger = await Client.RegisterAsync();
        var (id, key) = await Client.CreateApiKeyAsync(owner.Token);

        (await Client.GetAsync($"/v1/api-keys/{id}", stranger.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync($"/v1/api-keys/{id}", stranger.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PostAsync($"/v1/api-keys/{id}/roll", null, stranger.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/api-keys", stranger.Token)).Json["meta"]!["total"]);
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_plan_caps_active_keys_with_402_and_revoking_frees_a_place()
    {
        var user = await Client.RegisterAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await Client.CreateApiKeyAsync(user.Token)).Id);
        }

        (await Client.PostAsync("/v1/api-keys", new { name = "one too many" }, user.Token)).AssertProblem(HttpStatusCode.PaymentRequired, "plan_limit_reached");

        (await Client.DeleteAsync($"/v1/api-keys/{ids[0]}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        await Client.CreateApiKeyAsync(user.Token);
        Assert.Equal(4, (int?)(await Client.GetAsync("/v1/api-keys", user.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task Keys_list_is_paged()
    {
        var user = await Client.RegisterAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await Client.CreateApiKeyAsync(user.Token)).Id);
        }

        var page2 = (await Client.GetAsync("/v1/api-keys?page=2&per_page=2", user.Token)).AssertStatus(HttpStatusCode.OK);
        var meta = page2.Json["meta"]!;
        Assert.Equal(2, (int?)meta["page"]);
        Assert.Equal(2, (int?)meta["per_page"]);
        Assert.Equal(3, (int?)meta["total"]);
        Assert.Equal(2, (int?)meta["total_pages"]);
        Assert.Equal(ids[0], (string?)Assert.Single(page2.Data.AsArray())!["id"]);
    }

    [Fact]
    public async Task Only_an_admin_can_give_a_key_another_plan()
    {
        var user = await Client.RegisterAsync();
        (await Client.PostAsync("/v1/api-keys", new { name = "pro", plan = "pro" }, user.Token)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PostAsync("/v1/api-keys", new { name = "gold", plan = "gold" }, user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");

        var admin = await Client.LoginAsync(ApiServer.AdminEmail, ApiServer.AdminPassword);
        var created = (await Client.PostAsync("/v1/api-keys", new { name = "pro", plan = "pro" }, Credential.Bearer((string)admin["access_token"]!)))
            .AssertStatus(HttpStatusCode.Created);
        Assert.Equal("pro", (string?)created.Data["plan"]);
        await Client.DeleteAsync($"/v1/api-keys/{(string)created.Data["id"]!}", Credential.Bearer((string)admin["access_token"]!));
    }

    [Theory]
    [InlineData("""{"scopes": []}""", "scopes")]
    [InlineData("""{"scopes": ["admin"]}""", "scopes")]
    [InlineData("""{"scopes": "read"}""", "scopes")]
    [InlineData("""{"name": ""}""", "name")]
    [InlineData("""{"name": 42}""", "name")]
    [InlineData("""{"expires_at": "tomorrow"}""", "expires_at")]
    [InlineData("""{"expires_at": "2001-01-01T00:00:00Z"}""", "expires_at")]
    [InlineData("""{"plan": 5}""", "plan")]
    public async Task Invalid_key_requests_are_400_naming_the_field_and_create_nothing(string body, string field)
    {
        var user = await Client.RegisterAsync();
        var response = await Client.SendAsync(HttpMethod.Post, "/v1/api-keys", ApiClient.JsonContent(body), user.Token);
        Assert.NotNull(response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]![field]);
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/api-keys", user.Token)).Json["meta"]!["total"]);
    }

    [Theory]
    [InlineData("key_")]
    [InlineData("key_..%2F..%2Fetc")]
    [InlineData("usr_AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("key_AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("key_'%20OR%201=1--")]
    public async Task Hostile_or_unknown_key_ids_are_404(string id)
    {
        var user = await Client.RegisterAsync();
        (await Client.GetAsync($"/v1/api-keys/{id}", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync($"/v1/api-keys/{id}", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
    }
}

[Collection(Servers.Embedded)]
public sealed class ApiKeyTestsOnEmbedded(EmbeddedServer server) : ApiKeyTests(server);

[Collection(Servers.Postgres)]
public sealed class ApiKeyTestsOnPostgres(PostgresServer server) : ApiKeyTests(server);
