using System.Net;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>Data survives a restart of the process: accounts, sessions and API keys.</summary>
public abstract class RestartTests(ApiServer server) : ApiTestBase(server)
{
    [Fact]
    public async Task Users_sessions_and_keys_survive_a_restart()
    {
        var user = await Client.RegisterAsync();
        var (keyId, key) = await Client.CreateApiKeyAsync(user.Token);
        var (revokedId, revokedKey) = await Client.CreateApiKeyAsync(user.Token);
        (await Client.DeleteAsync($"/v1/api-keys/{revokedId}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.PatchAsync("/v1/users/me", new { profile = new { first_name = "Persisted" } }, user.Token)).AssertStatus(HttpStatusCode.OK);
        var resource = (await Client.PostAsync("/v1/resources", new { name = "durable", metadata = new { n = 1 } }, user.Token)).AssertStatus(HttpStatusCode.Created);
        var resourceId = (string)resource.Data["id"]!;
        (await Client.PatchAsync($"/v1/resources/{resourceId}", new { status = "archived" }, user.Token)).AssertStatus(HttpStatusCode.OK);
        var gone = (string)(await Client.PostAsync("/v1/resources", new { name = "deleted" }, user.Token)).Data["id"]!;
        (await Client.DeleteAsync($"/v1/resources/{gone}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        var replayed = (await Client.PostAsync("/v1/resources", new { name = "once" }, user.Token,
            r => r.Headers.TryAddWithoutValidation("Idempotency-Key", "across-restart"))).AssertStatus(HttpStatusCode.Created);

        await Server.RestartAsync();
        using var client = Server.CreateClient();

        await client.LoginAsync(user.Email, user.Password);
        var me = (await client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("Persisted", (string?)me.Data["profile"]!["first_name"]);
        (await client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
        (await client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(revokedKey))).AssertProblem(HttpStatusCode.Unauthorized, "revoked_api_key");
        (await client.PostAsync("/v1/auth/refresh", new { refresh_token = user.RefreshToken })).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(2, (int?)(await client.GetAsync("/v1/api-keys", user.Token)).Json["meta"]!["total"]);
        Assert.Equal(keyId, (string?)(await client.GetAsync($"/v1/api-keys/{keyId}", user.Token)).Data["id"]);
        var after = (await client.GetAsync($"/v1/resources/{resourceId}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("archived", (string?)after.Data["status"]);
        Assert.Equal("\"2\"", after.Header("ETag"));
        (await client.GetAsync($"/v1/resources/{gone}", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        var list = (await client.GetAsync("/v1/resources", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(2, (int?)list.Json["meta"]!["total"]);
        var again = (await client.PostAsync("/v1/resources", new { name = "once" }, user.Token,
            r => r.Headers.TryAddWithoutValidation("Idempotency-Key", "across-restart"))).AssertStatus(HttpStatusCode.Created);
        Assert.Equal("true", again.Header("Idempotent-Replayed"));
        Assert.Equal(replayed.Body, again.Body);
        (await client.PostAsync("/v1/auth/register", new { email = user.Email, username = "fresh" + Guid.NewGuid().ToString("N")[..8], password = "password-123" }))
            .AssertProblem(HttpStatusCode.Conflict, "already_exists");
    }
}

public sealed class RestartTestsOnEmbedded(EmbeddedServer server) : RestartTests(server), IClassFixture<EmbeddedServer>;

public sealed class RestartTestsOnPostgres(PostgresServer server) : RestartTests(server), IClassFixture<PostgresServer>;
