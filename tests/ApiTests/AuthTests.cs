using System.Net;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>Registration, login, refresh-token rotation and logout, as the contract's Authentication section says.</summary>
public abstract class AuthTests(ApiServer server) : ApiTestBase(server)
{
    [Fact]
    public async Task Register_answers_201_with_tokens_and_the_user_but_never_the_password()
    {
        var email = $"Reg{Guid.NewGuid():N}@Example.test";
        var username = "reg" + Guid.NewGuid().ToString("N")[..8];
        var response = await Client.PostAsync("/v1/auth/register", new
        {
            email,
            username,
            password = "a-long-password",
            profile = new { first_name = "Ada", last_name = "Lovelace" },
            created_at = "1999-01-01T00:00:00Z",
            role = "admin",
        });

        response.AssertStatus(HttpStatusCode.Created);
        Assert.Equal("/v1/users/me", response.Header("Location"));
        var json = response.Json;
        Assert.Equal("Bearer", (string?)json["token_type"]);
        Assert.Equal(3600, (int?)json["expires_in"]);
        Assert.False(string.IsNullOrEmpty((string?)json["access_token"]));
        Assert.StartsWith("rt_", (string?)json["refresh_token"]);
        var user = json["user"]!;
        Assert.StartsWith("usr_", (string?)user["id"]);
        Assert.Equal(email, (string?)user["email"]);
        Assert.Equal("Ada", (string?)user["profile"]!["first_name"]);
        Assert.Equal("user", (string?)user["role"]);
        Assert.NotEqual("1999-01-01T00:00:00Z", (string?)user["created_at"]);
        Assert.DoesNotContain("a-long-password", response.Body);
        Assert.DoesNotContain("password", response.Body);
    }

    [Fact]
    public async Task Emails_and_usernames_are_unique_case_insensitively()
    {
        var user = await Client.RegisterAsync();

        var sameEmail = await Client.PostAsync("/v1/auth/register",
            new { email = user.Email.ToUpperInvariant(), username = "other" + Guid.NewGuid().ToString("N")[..8], password = "password-123" });
        var problem = sameEmail.AssertProblem(HttpStatusCode.Conflict, "already_exists");
        Assert.NotNull(problem["errors"]!["email"]);

        var sameName = await Client.PostAsync("/v1/auth/register",
            new { email = $"x{Guid.NewGuid():N}@example.test", username = user.Username.ToUpperInvariant(), password = "password-123" });
        Assert.NotNull(sameName.AssertProblem(HttpStatusCode.Conflict, "already_exists")["errors"]!["username"]);
    }

    [Fact]
    public async Task Concurrent_registrations_of_one_email_create_exactly_one_account()
    {
        var email = $"race{Guid.NewGuid():N}@example.test";
        var attempts = Enumerable.Range(0, 12).Select(i => Client.PostAsync("/v1/auth/register",
            new { email, username = $"race{i}{Guid.NewGuid().ToString("N")[..6]}", password = "password-123" }));
        var responses = await Task.WhenAll(attempts);

        Assert.Single(responses, r => r.Status == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.Status != HttpStatusCode.Created), r => r.AssertProblem(HttpStatusCode.Conflict, "already_exists"));
        await Client.LoginAsync(email, "password-123");
    }

    [Fact]
    public async Task Login_returns_the_bare_token_object()
    {
        var user = await Client.RegisterAsync();
        var json = await Client.LoginAsync(user.Email.ToUpperInvariant(), user.Password);

        Assert.Equal("Bearer", (string?)json["token_type"]);
        Assert.Equal(3600, (int?)json["expires_in"]);
        Assert.Null(json["data"]);
        var me = await Client.GetAsync("/v1/users/me", Credential.Bearer((string)json["access_token"]!));
        Assert.Equal(user.Id, (string?)me.AssertStatus(HttpStatusCode.OK).Data["id"]);
    }

    [Fact]
    public async Task Login_failures_do_not_reveal_whether_the_email_exists()
    {
        var user = await Client.RegisterAsync();

        var wrongPassword = await Client.PostAsync("/v1/auth/login", new { email = user.Email, password = "wrong-password" });
        var unknownEmail = await Client.PostAsync("/v1/auth/login", new { email = $"nobody{Guid.NewGuid():N}@example.test", password = "wrong-password" });

        var a = wrongPassword.AssertProblem(HttpStatusCode.Unauthorized, "invalid_credentials");
        var b = unknownEmail.AssertProblem(HttpStatusCode.Unauthorized, "invalid_credentials");
        Assert.Equal((string?)a["detail"], (string?)b["detail"]);
        Assert.Equal((string?)a["title"], (string?)b["title"]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Repeated_login_failures_lock_the_account_even_for_the_right_password(bool accountExists)
    {
        var user = await Client.RegisterAsync();
        var email = accountExists ? user.Email : $"ghost{Guid.NewGuid():N}@example.test";
        for (var i = 0; i < 5; i++)
        {
            var failure = await Client.PostAsync("/v1/auth/login", new { email, password = "wrong-password" });
            Assert.True(failure.Status is HttpStatusCode.Unauthorized or HttpStatusCode.TooManyRequests);
        }

        var locked = await Client.PostAsync("/v1/auth/login", new { email, password = user.Password });
        locked.AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.True(int.Parse(locked.Header("Retry-After")!, System.Globalization.CultureInfo.InvariantCulture) > 0);

        Server.Time.Advance(TimeSpan.FromMinutes(16));
        if (accountExists)
        {
            await Client.LoginAsync(email, user.Password);
        }
    }

    [Fact]
    public async Task Concurrent_wrong_passwords_get_exactly_the_allowed_failures_then_429()
    {
        var user = await Client.RegisterAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ =>
            Client.PostAsync("/v1/auth/login", new { email = user.Email, password = "wrong-password" })));

        Assert.Equal(5, answers.Count(a => a.Status == HttpStatusCode.Unauthorized));
        Assert.Equal(25, answers.Count(a => a.Status == HttpStatusCode.TooManyRequests));
        Assert.All(answers.Where(a => a.Status == HttpStatusCode.TooManyRequests), a => a.AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded"));
        (await Client.PostAsync("/v1/auth/login", new { email = user.Email, password = user.Password }))
            .AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
    }

    [Fact]
    public async Task Refresh_rotates_and_a_reused_refresh_token_ends_the_whole_session()
    {
        var user = await Client.RegisterAsync();

        var first = (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = user.RefreshToken })).AssertStatus(HttpStatusCode.OK).Json;
        var rotated = (string)first["refresh_token"]!;
        var access = (string)first["access_token"]!;
        Assert.NotEqual(user.RefreshToken, rotated);
        (await Client.GetAsync("/v1/users/me", Credential.Bearer(access))).AssertStatus(HttpStatusCode.OK);

        // The old token comes back after the retry window: a thief (or a confused client) holds a copy.
        Server.Time.Advance(TimeSpan.FromSeconds(31));
        (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = user.RefreshToken })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");

        (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = rotated })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.GetAsync("/v1/users/me", Credential.Bearer(access))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.GetAsync("/v1/users/me", user.Token)).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task Logout_ends_the_session_for_its_access_and_refresh_tokens_only()
    {
        var user = await Client.RegisterAsync();
        var other = await Client.LoginAsync(user.Email, user.Password);

        (await Client.PostAsync("/v1/auth/logout", null, user.Token)).AssertStatus(HttpStatusCode.NoContent);

        (await Client.GetAsync("/v1/users/me", user.Token)).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = user.RefreshToken })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.GetAsync("/v1/users/me", Credential.Bearer((string)other["access_token"]!))).AssertStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Logout_with_an_api_key_is_refused()
    {
        var user = await Client.RegisterAsync();
        var (_, key) = await Client.CreateApiKeyAsync(user.Token);
        (await Client.PostAsync("/v1/auth/logout", null, Credential.ApiKeyHeader(key))).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Access_tokens_expire_after_their_lifetime_and_refresh_still_works()
    {
        var user = await Client.RegisterAsync();
        Server.Time.Advance(TimeSpan.FromMinutes(61));

        (await Client.GetAsync("/v1/users/me", user.Token)).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        var refreshed = (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = user.RefreshToken })).AssertStatus(HttpStatusCode.OK).Json;
        (await Client.GetAsync("/v1/users/me", Credential.Bearer((string)refreshed["access_token"]!))).AssertStatus(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfeCJ9.c2lnbmF0dXJl")]
    [InlineData("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c3JfeCIsInNpZCI6InNlc194In0.")]
    public async Task Forged_or_malformed_access_tokens_are_invalid_token(string token)
    {
        var response = await Client.GetAsync("/v1/users/me", Credential.Bearer(token));
        response.AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        Assert.Contains("Bearer", response.Header("WWW-Authenticate"));
    }

    [Fact]
    public async Task A_tampered_access_token_is_invalid_token()
    {
        var user = await Client.RegisterAsync();
        var parts = user.AccessToken.Split('.');
        var payload = parts[1].ToCharArray();
        payload[5] = payload[5] == 'A' ? 'B' : 'A';
        var tampered = $"{parts[0]}.{new string(payload)}.{parts[2]}";
        (await Client.GetAsync("/v1/users/me", Credential.Bearer(tampered))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Fact]
    public async Task No_credential_is_authentication_required()
    {
        var response = await Client.GetAsync("/v1/users/me");
        response.AssertProblem(HttpStatusCode.Unauthorized, "authentication_required");
        Assert.Contains("Bearer", response.Header("WWW-Authenticate"));

        (await Client.GetAsync("/v1/users/me", configure: r => r.Headers.TryAddWithoutValidation("Authorization", "Basic dXNlcjpwYXNz")))
            .AssertProblem(HttpStatusCode.Unauthorized, "authentication_required");
    }

    [Fact]
    public async Task The_configured_admin_exists_and_the_first_registered_user_is_not_admin()
    {
        var admin = await Client.LoginAsync(ApiServer.AdminEmail, ApiServer.AdminPassword);
        var me = (await Client.GetAsync("/v1/users/me", Credential.Bearer((string)admin["access_token"]!))).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("admin", (string?)me.Data["role"]);

        var user = await Client.RegisterAsync();
        var mine = (await Client.GetAsync("/v1/users/me", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("user", (string?)mine.Data["role"]);
    }
}

[Collection(Servers.Embedded)]
public sealed class AuthTestsOnEmbedded(EmbeddedServer server) : AuthTests(server);

[Collection(Servers.Postgres)]
public sealed class AuthTestsOnPostgres(PostgresServer server) : AuthTests(server);
