using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Gateway.Auth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ApiPlatform.ApiTests;

/// <summary>
/// What the logs say, on a server of its own logging everything at Debug: no secret ever appears in a line, and
/// every line written while a request runs carries its request_id, trace id and span id.
/// </summary>
public abstract class LogSecretsTests
{
    protected abstract ApiServer CreateServer();

    [Fact]
    public async Task Every_credential_flow_at_debug_level_leaves_no_secret_in_any_log_line()
    {
        await using var server = CreateServer();
        Assert.SkipUnless(server.Available, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        var capture = CapturingLoggerProvider.On(server);
        foreach (var category in new[] { "Default", "Microsoft", "Microsoft.AspNetCore", "Orleans", "Npgsql", "System", "Polly", "ApiPlatform", "ApiPlatform.Gateway.Errors" })
        {
            server.Overrides[$"Logging:LogLevel:{category}"] = "Debug";
        }

        await server.InitializeAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        using var client = server.CreateClient();
        var secrets = new Dictionary<string, string>
        {
            ["the bootstrap admin's password"] = ApiServer.AdminPassword,
            ["the JWT signing key"] = server.Services.GetRequiredService<IOptions<JwtOptions>>().Value.SigningKey,
        };

        // Register and log in (and fail to, with a wrong password that is also a secret).
        var user = await client.RegisterAsync("secrets");
        secrets["the registered password"] = user.Password;
        secrets["the access token from registering"] = user.AccessToken;
        secrets["the refresh token from registering"] = user.RefreshToken;
        const string wrongPassword = "wrong-horse-battery-staple";
        secrets["a wrong password"] = wrongPassword;
        (await client.PostAsync("/v1/auth/login", new { email = user.Email, password = wrongPassword })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_credentials");
        var login = await client.LoginAsync(user.Email, user.Password);
        secrets["the access token from logging in"] = (string)login["access_token"]!;
        secrets["the refresh token from logging in"] = (string)login["refresh_token"]!;

        // Refresh, then replay the spent refresh token (theft detection revokes the session), then log out.
        var refreshed = (await client.PostAsync("/v1/auth/refresh", new { refresh_token = (string)login["refresh_token"]! })).AssertStatus(HttpStatusCode.OK).Json;
        secrets["the refreshed access token"] = (string)refreshed["access_token"]!;
        secrets["the refreshed refresh token"] = (string)refreshed["refresh_token"]!;
        // A replay within the retry window answers the same pair (its first answer may have been lost); past it, it is theft.
        server.Time.Advance(TimeSpan.FromMinutes(1));
        (await client.PostAsync("/v1/auth/refresh", new { refresh_token = (string)login["refresh_token"]! })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        var session = await client.LoginAsync(user.Email, user.Password);
        secrets["the access token of the session logged out"] = (string)session["access_token"]!;
        (await client.PostAsync("/v1/auth/logout", null, Credential.Bearer((string)session["access_token"]!))).AssertStatus(HttpStatusCode.NoContent);
        (await client.GetAsync("/v1/users/me", Credential.Bearer((string)session["access_token"]!))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");

        // API keys: create, use (both headers), roll, use the old and the new one, and a made-up one.
        var (keyId, key) = await client.CreateApiKeyAsync(user.Token);
        secrets["a created API key"] = key;
        (await client.GetAsync("/v1/resources", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);
        (await client.GetAsync("/v1/resources", Credential.Bearer(key))).AssertStatus(HttpStatusCode.OK);
        var rolled = (string)(await client.PostAsync($"/v1/api-keys/{keyId}/roll", null, user.Token)).AssertStatus(HttpStatusCode.OK).Data["key"]!;
        secrets["a rolled API key"] = rolled;
        (await client.GetAsync("/v1/resources", Credential.ApiKeyHeader(key))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");
        (await client.PostAsync("/v1/resources", new { name = "logged" }, Credential.ApiKeyHeader(rolled))).AssertStatus(HttpStatusCode.Created);
        var forged = key[..^6] + "AAAAAA";
        secrets["a forged API key"] = forged;
        (await client.GetAsync("/v1/resources", Credential.ApiKeyHeader(forged))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");

        // Mailed tokens: email verification, password reset (used, so the new password is a secret too), an invitation.
        var mail = TestMailServer.Shared;
        var verification = TestMailServer.TokenOf(await mail.WaitForAsync(user.Email), "/verify-email");
        secrets["an email verification token"] = verification;
        (await client.PostAsync("/v1/auth/verify-email", new { token = verification })).AssertStatus(HttpStatusCode.NoContent);
        (await client.PostAsync("/v1/auth/password-reset", new { email = user.Email })).AssertStatus(HttpStatusCode.Accepted);
        var reset = TestMailServer.TokenOf(await mail.WaitForAsync(user.Email, count: 2), "/reset-password");
        secrets["a password reset token"] = reset;
        const string resetPassword = "a-reset-password-for-logs";
        secrets["a password set by reset"] = resetPassword;
        (await client.PostAsync("/v1/auth/password-reset/confirm", new { token = reset, new_password = resetPassword })).AssertStatus(HttpStatusCode.NoContent);
        user = user with { Password = resetPassword, AccessToken = (string)(await client.LoginAsync(user.Email, resetPassword))["access_token"]! };
        var org = (string)(await client.PostAsync("/v1/organizations", new { name = "Logged org" }, user.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        var inviteeEmail = $"invitee{Guid.NewGuid():N}@example.test";
        (await client.PostAsync($"/v1/organizations/{org}/invitations", new { email = inviteeEmail }, user.Token)).AssertStatus(HttpStatusCode.Created);
        secrets["an invitation token"] = TestMailServer.TokenOf(await mail.WaitForAsync(inviteeEmail), "/invitations/accept");

        // Webhooks: create, deliver (signed with the secret), rotate, deliver again (signed with both).
        var url = receiver.NewUrl();
        var hook = (await client.PostAsync("/v1/webhooks", new { url, events = new[] { "resource.created" } }, user.Token)).AssertStatus(HttpStatusCode.Created).Data;
        secrets["a webhook secret"] = (string)hook["secret"]!;
        (await client.PostAsync("/v1/resources", new { name = "first event" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        await Eventually.HoldsAsync(() => Task.FromResult(receiver.At(url).Count >= 1), "the first delivery");
        var rotated = (await client.PostAsync($"/v1/webhooks/{(string)hook["id"]!}/rotate-secret", null, user.Token)).AssertStatus(HttpStatusCode.OK).Data;
        secrets["a rotated webhook secret"] = (string)rotated["secret"]!;
        (await client.PostAsync("/v1/resources", new { name = "second event" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        await Eventually.HoldsAsync(() => Task.FromResult(receiver.At(url).Count >= 2), "the second delivery");
        await server.StopAsync();

        var lines = capture.Lines.ToList();
        Assert.True(lines.Count > 100, $"Debug logging captured only {lines.Count} lines: the test is not looking at the real log.");
        foreach (var (what, secret) in secrets)
        {
            foreach (var fragment in Fragments(secret))
            {
                var leak = lines.FirstOrDefault(l => l.Text.Contains(fragment, StringComparison.Ordinal));
                Assert.True(leak is null, $"{what} appears in a log line ({leak?.Category}): {leak?.Text}");
            }
        }

        // Lines written during a request (ASP.NET Core's scope names its path) carry the request's trace and span, and
        // its request_id, except the server's own lines (Kestrel's, and hosting's "Request starting/finished"), which
        // are written before the first middleware runs and after the last returns (docs/observability.md).
        var duringRequests = lines.Where(l => l.Scopes.ContainsKey("RequestPath")).ToList();
        Assert.Contains(duringRequests, l => l.Category.StartsWith("ApiPlatform", StringComparison.Ordinal));
        foreach (var line in duringRequests)
        {
            Assert.True(line.Scopes.ContainsKey("TraceId") && line.Scopes.ContainsKey("SpanId"), $"No trace or span id: {line.Text}");
            if (!line.Category.StartsWith("Microsoft.AspNetCore.Hosting", StringComparison.Ordinal)
                && !line.Category.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal))
            {
                Assert.True(line.Scopes.TryGetValue("request_id", out var id) && id.StartsWith("req_", StringComparison.Ordinal), $"No request_id: {line.Text}");
            }
        }
    }

    /// <summary>
    /// The secret, and its tail when that is a secret on its own: an API key's or refresh token's random part (after
    /// the last '_'; the ids before it may be logged), an access token's signature (after the last '.').
    /// </summary>
    private static IEnumerable<string> Fragments(string secret)
    {
        yield return secret;
        var tail = secret[(secret.LastIndexOfAny(['_', '.']) + 1)..];
        if (tail.Length >= 16 && tail != secret)
        {
            yield return tail;
        }
    }
}

public sealed class LogSecretsTestsOnEmbedded : LogSecretsTests
{
    protected override ApiServer CreateServer() => new EmbeddedServer();
}

public sealed class LogSecretsTestsOnPostgres : LogSecretsTests
{
    protected override ApiServer CreateServer() => new PostgresServer();
}
