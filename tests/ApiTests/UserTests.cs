using System.Net;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary><c>/v1/users/me</c>: reading and updating one's own account.</summary>
public abstract class UserTests(ApiServer server) : ApiTestBase(server)
{
    [Fact]
    public async Task Me_shows_the_seed_shape()
    {
        var user = await Client.RegisterAsync();
        var me = (await Client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.StartsWith("application/json", me.ContentHeaders?.ContentType?.ToString());
        var data = me.Data;
        Assert.Equal(user.Id, (string?)data["id"]);
        Assert.Equal(user.Email, (string?)data["email"]);
        Assert.Equal(user.Username, (string?)data["username"]);
        Assert.NotNull(data["profile"]);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", (string?)data["created_at"]);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", (string?)data["updated_at"]);
    }

    [Fact]
    public async Task Me_carries_an_etag_that_changes_with_the_account_and_answers_304()
    {
        var user = await Client.RegisterAsync();
        var first = (await Client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK);
        var etag = first.Header("ETag");
        Assert.StartsWith("W/\"", etag);

        var cached = await Client.GetAsync("/v1/users/me", user.Token, r => r.Headers.TryAddWithoutValidation("If-None-Match", etag));
        Assert.Equal(HttpStatusCode.NotModified, cached.Status);
        Assert.Equal("", cached.Body);

        await Client.PatchAsync("/v1/users/me", new { profile = new { first_name = "Changed" } }, user.Token);
        var changed = await Client.GetAsync("/v1/users/me", user.Token, r => r.Headers.TryAddWithoutValidation("If-None-Match", etag));
        Assert.Equal(HttpStatusCode.OK, changed.Status);
        Assert.NotEqual(etag, changed.Header("ETag"));

        var (keyId, _) = await Client.CreateApiKeyAsync(user.Token);
        var key = (await Client.GetAsync($"/v1/api-keys/{keyId}", user.Token)).AssertStatus(HttpStatusCode.OK);
        await Client.DeleteAsync($"/v1/api-keys/{keyId}", user.Token);
        Assert.NotEqual(key.Header("ETag"), (await Client.GetAsync($"/v1/api-keys/{keyId}", user.Token)).Header("ETag"));
    }

    [Fact]
    public async Task Patch_me_updates_the_profile_and_null_clears_a_field()
    {
        var user = await Client.RegisterAsync();
        var updated = (await Client.PatchAsync("/v1/users/me",
            new { profile = new { first_name = "Jane", last_name = "Smith", avatar_url = "https://example.com/a.png" } }, user.Token))
            .AssertStatus(HttpStatusCode.OK);
        Assert.Equal("Jane", (string?)updated.Data["profile"]!["first_name"]);
        Assert.Equal("https://example.com/a.png", (string?)updated.Data["profile"]!["avatar_url"]);

        var cleared = (await Client.SendAsync(HttpMethod.Patch, "/v1/users/me",
            ApiClient.JsonContent("""{"profile": {"last_name": null}}"""), user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("Jane", (string?)cleared.Data["profile"]!["first_name"]);
        Assert.Null((string?)cleared.Data["profile"]!["last_name"]);

        var again = (await Client.GetAsync("/v1/users/me", user.Token)).Data;
        Assert.Equal("Jane", (string?)again["profile"]!["first_name"]);
        Assert.Null((string?)again["profile"]!["last_name"]);
    }

    [Fact]
    public async Task Patch_me_can_change_the_username_and_frees_the_old_one()
    {
        var user = await Client.RegisterAsync();
        var other = await Client.RegisterAsync();
        var newName = "renamed" + Guid.NewGuid().ToString("N")[..8];

        (await Client.PatchAsync("/v1/users/me", new { username = other.Username.ToUpperInvariant() }, user.Token))
            .AssertProblem(HttpStatusCode.Conflict, "already_exists");
        var renamed = (await Client.PatchAsync("/v1/users/me", new { username = newName }, user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(newName, (string?)renamed.Data["username"]);

        (await Client.PostAsync("/v1/auth/register", new { email = $"n{Guid.NewGuid():N}@example.test", username = user.Username, password = "password-123" }))
            .AssertStatus(HttpStatusCode.Created);
        (await Client.PostAsync("/v1/auth/register", new { email = $"n{Guid.NewGuid():N}@example.test", username = newName, password = "password-123" }))
            .AssertProblem(HttpStatusCode.Conflict, "already_exists");
    }

    [Theory]
    [InlineData("""{"email": "new@example.test"}""", "email")]
    [InlineData("""{"role": "admin"}""", "role")]
    [InlineData("""{"password": "new-password-1"}""", "password")]
    [InlineData("""{"username": null}""", "username")]
    [InlineData("""{"username": "a"}""", "username")]
    [InlineData("""{"username": 12345}""", "username")]
    [InlineData("""{"profile": "Jane"}""", "profile")]
    [InlineData("""{"profile": {"first_name": 7}}""", "profile.first_name")]
    [InlineData("""{"profile": {"avatar_url": "javascript:alert(1)"}}""", "profile.avatar_url")]
    public async Task Patch_me_refuses_what_it_cannot_change_naming_the_field_and_changes_nothing(string body, string field)
    {
        var user = await Client.RegisterAsync();
        var before = (await Client.GetAsync("/v1/users/me", user.Token)).Body;

        var response = await Client.SendAsync(HttpMethod.Patch, "/v1/users/me", ApiClient.JsonContent(body), user.Token);
        Assert.NotNull(response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]![field]);

        Assert.Equal(before, (await Client.GetAsync("/v1/users/me", user.Token)).Body);
    }
}

[Collection(Servers.Embedded)]
public sealed class UserTestsOnEmbedded(EmbeddedServer server) : UserTests(server);

[Collection(Servers.Postgres)]
public sealed class UserTestsOnPostgres(PostgresServer server) : UserTests(server);
