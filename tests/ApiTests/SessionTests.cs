using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.ApiTests;

/// <summary>Password change, the sessions list, ending sessions, the refresh retry window, lifetimes and purging.</summary>
public abstract class SessionTests(ApiServer server) : ApiTestBase(server)
{
    private static Action<HttpRequestMessage> Agent(string userAgent) => r => r.Headers.TryAddWithoutValidation("User-Agent", userAgent);

    private async Task<(Credential Access, string Refresh)> LoginAsync(TestUser user, string userAgent)
    {
        var json = (await Client.PostAsync("/v1/auth/login", new { email = user.Email, password = user.Password }, configure: Agent(userAgent)))
            .AssertStatus(HttpStatusCode.OK).Json;
        return (Credential.Bearer((string)json["access_token"]!), (string)json["refresh_token"]!);
    }

    [Fact]
    public async Task Changing_the_password_ends_every_other_session_and_needs_the_current_one()
    {
        var user = await Client.RegisterAsync();
        var (other, otherRefresh) = await LoginAsync(user, "other-device");
        var (_, key) = await Client.CreateApiKeyAsync(user.Token);

        var wrong = await Client.PostAsync("/v1/users/me/password", new { current_password = "not-it", new_password = "brand-new-password" }, user.Token);
        Assert.NotNull(wrong.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["current_password"]);
        (await Client.PostAsync("/v1/users/me/password", new { current_password = user.Password, new_password = "short" }, user.Token))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PostAsync("/v1/users/me/password", new { current_password = user.Password, new_password = "brand-new-password" }, Credential.ApiKeyHeader(key)))
            .AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.PostAsync("/v1/users/me/password", new { current_password = user.Password, new_password = "brand-new-password" }))
            .AssertProblem(HttpStatusCode.Unauthorized, "authentication_required");

        (await Client.PostAsync("/v1/users/me/password", new { current_password = user.Password, new_password = "brand-new-password" }, user.Token))
            .AssertStatus(HttpStatusCode.NoContent);

        (await Client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.GetAsync("/v1/users/me", other)).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = otherRefresh })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.PostAsync("/v1/auth/login", new { email = user.Email, password = user.Password })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_credentials");
        await Client.LoginAsync(user.Email, "brand-new-password");
        // Keys are not sessions: they keep working.
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Repeated_wrong_current_passwords_lock_like_logins()
    {
        var user = await Client.RegisterAsync();
        for (var i = 0; i < 5; i++)
        {
            (await Client.PostAsync("/v1/users/me/password", new { current_password = "wrong-" + i, new_password = "brand-new-password" }, user.Token))
                .AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        }

        (await Client.PostAsync("/v1/users/me/password", new { current_password = user.Password, new_password = "brand-new-password" }, user.Token))
            .AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Server.Time.Advance(TimeSpan.FromMinutes(16));
    }

    [Fact]
    public async Task The_sessions_list_shows_the_users_active_sessions_and_marks_the_current_one()
    {
        var user = await Client.RegisterAsync();
        var stranger = await Client.RegisterAsync();
        Server.Time.Advance(TimeSpan.FromSeconds(2));
        var (phone, _) = await LoginAsync(user, "phone-app/1.0");
        Server.Time.Advance(TimeSpan.FromSeconds(2));
        var (laptop, _) = await LoginAsync(user, "laptop-browser/2.0");
        (await Client.PostAsync("/v1/auth/logout", null, phone)).AssertStatus(HttpStatusCode.NoContent);

        var list = (await Client.GetAsync("/v1/users/me/sessions", laptop)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(2, (int?)list.Json["meta"]!["total"]);
        var sessions = list.Data.AsArray();
        Assert.Equal("laptop-browser/2.0", (string?)sessions[0]!["user_agent"]);
        Assert.True((bool)sessions[0]!["current"]!);
        Assert.False((bool)sessions[1]!["current"]!);
        Assert.StartsWith("ses_", (string?)sessions[0]!["id"]);
        Assert.NotNull((string?)sessions[0]!["last_used_at"]);
        Assert.NotNull((string?)sessions[0]!["expires_at"]);
        Assert.Equal(1, (int?)(await Client.GetAsync("/v1/users/me/sessions?per_page=1&page=2", laptop)).AssertStatus(HttpStatusCode.OK).Data.AsArray().Count);

        Assert.Equal(1, (int?)(await Client.GetAsync("/v1/users/me/sessions", stranger.Token)).Json["meta"]!["total"]);
        var (_, key) = await Client.CreateApiKeyAsync(user.Token);
        (await Client.GetAsync("/v1/users/me/sessions", Credential.ApiKeyHeader(key))).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
    }

    [Fact]
    public async Task A_user_ends_one_session_or_all_but_the_current_and_never_someone_elses()
    {
        var user = await Client.RegisterAsync();
        var stranger = await Client.RegisterAsync();
        var (second, _) = await LoginAsync(user, "second");
        var (third, _) = await LoginAsync(user, "third");
        var list = (await Client.GetAsync("/v1/users/me/sessions", user.Token)).AssertStatus(HttpStatusCode.OK);
        var secondId = list.Data.AsArray().Single(s => (string?)s!["user_agent"] == "second")!["id"]!.ToString();

        (await Client.DeleteAsync($"/v1/users/me/sessions/{secondId}", stranger.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync("/v1/users/me/sessions/ses_AAAAAAAAAAAAAAAAAAAAAA", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync("/v1/users/me/sessions/junk", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync("/v1/users/me", second)).AssertStatus(HttpStatusCode.OK);

        (await Client.DeleteAsync($"/v1/users/me/sessions/{secondId}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.GetAsync("/v1/users/me", second)).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.DeleteAsync($"/v1/users/me/sessions/{secondId}", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");

        (await Client.DeleteAsync("/v1/users/me/sessions", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.GetAsync("/v1/users/me", third)).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.GetAsync("/v1/users/me", stranger.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(1, (int?)(await Client.GetAsync("/v1/users/me/sessions", user.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task A_refresh_retried_within_the_window_gets_the_same_pair_and_the_session_lives_on()
    {
        var user = await Client.RegisterAsync();
        var first = (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = user.RefreshToken })).AssertStatus(HttpStatusCode.OK).Json;

        // The answer was lost; the client retries with the same token.
        Server.Time.Advance(TimeSpan.FromSeconds(20));
        var retried = (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = user.RefreshToken })).AssertStatus(HttpStatusCode.OK).Json;

        Assert.Equal((string?)first["refresh_token"], (string?)retried["refresh_token"]);
        Assert.Equal((string?)first["access_token"], (string?)retried["access_token"]);
        (await Client.GetAsync("/v1/users/me", Credential.Bearer((string)retried["access_token"]!))).AssertStatus(HttpStatusCode.OK);
        (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = (string)retried["refresh_token"]! })).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed()
    {
        var user = await Client.RegisterAsync();
        var refresh = user.RefreshToken;
        for (var day = 0; day < 88; day += 22)
        {
            Server.Time.Advance(TimeSpan.FromDays(22));
            refresh = (string)(await Client.PostAsync("/v1/auth/refresh", new { refresh_token = refresh })).AssertStatus(HttpStatusCode.OK).Json["refresh_token"]!;
        }

        // 88 days in, the session slid its 30-day expiry each time; at 90 days it ends anyway.
        Server.Time.Advance(TimeSpan.FromDays(2));
        (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = refresh })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task Ended_sessions_are_purged_from_storage_in_the_background()
    {
        var user = await Client.RegisterAsync();
        var sessionId = (string)(await Client.GetAsync("/v1/users/me/sessions", user.Token)).AssertStatus(HttpStatusCode.OK).Data[0]!["id"]!;
        (await Client.PostAsync("/v1/auth/logout", null, user.Token)).AssertStatus(HttpStatusCode.NoContent);
        Assert.True(await SessionRowExistsAsync(sessionId));

        // Kept for the retention (an hour in these tests), then purged by the silo's background service.
        Server.Time.Advance(TimeSpan.FromMinutes(61));
        await Eventually.HoldsAsync(async () => !await SessionRowExistsAsync(sessionId), "the ended session's row to be purged");
    }

    private async Task<bool> SessionRowExistsAsync(string id)
    {
        await using var command = Server.Database.CreateCommand("SELECT COUNT(*) FROM sessions WHERE id = @id").With("id", id);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }
}

[Collection(Servers.Embedded)]
public sealed class SessionTestsOnEmbedded(EmbeddedServer server) : SessionTests(server);

[Collection(Servers.Postgres)]
public sealed class SessionTestsOnPostgres(PostgresServer server) : SessionTests(server);
