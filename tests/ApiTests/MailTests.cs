using System.Net;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>Email verification and password reset, with the mails received over real SMTP and their links used.</summary>
public abstract class MailTests(ApiServer server) : ApiTestBase(server)
{
    private static TestMailServer Mail => TestMailServer.Shared;

    [Fact]
    public async Task Registering_sends_a_verification_mail_whose_link_verifies_the_email_once()
    {
        var user = await Client.RegisterAsync();
        Assert.False((bool)(await Client.GetAsync("/v1/users/me", user.Token)).Data["email_verified"]!);

        var mail = await Mail.WaitForAsync(user.Email);
        Assert.Equal("Verify your email address", mail.Subject);
        Assert.Contains("https://app.example.test/verify-email?token=", mail.TextBody);
        var token = TestMailServer.TokenOf(mail, "/verify-email");

        (await Client.PostAsync("/v1/auth/verify-email", new { token })).AssertStatus(HttpStatusCode.NoContent);
        Assert.True((bool)(await Client.GetAsync("/v1/users/me", user.Token)).Data["email_verified"]!);

        (await Client.PostAsync("/v1/auth/verify-email", new { token })).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PostAsync("/v1/auth/verify-email", new { token = token[..^1] + (token[^1] == 'a' ? 'b' : 'a') })).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PostAsync("/v1/auth/verify-email", new { token = "ev_junk" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PostAsync("/v1/auth/verify-email", new { })).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Asking_again_sends_a_new_link_and_only_the_newest_works()
    {
        var user = await Client.RegisterAsync();
        var first = TestMailServer.TokenOf(await Mail.WaitForAsync(user.Email), "/verify-email");

        (await Client.PostAsync("/v1/auth/verify-email/resend", new { email = user.Email })).AssertStatus(HttpStatusCode.Accepted);
        var second = TestMailServer.TokenOf(await Mail.WaitForAsync(user.Email, count: 2), "/verify-email");

        (await Client.PostAsync("/v1/auth/verify-email", new { token = first })).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PostAsync("/v1/auth/verify-email", new { token = second })).AssertStatus(HttpStatusCode.NoContent);

        // Verified accounts get no more verification mail; unknown addresses none ever; the answer is the same.
        var unknown = $"nobody{Guid.NewGuid():N}@example.test";
        var forUnknown = (await Client.PostAsync("/v1/auth/verify-email/resend", new { email = unknown })).AssertStatus(HttpStatusCode.Accepted);
        var forVerified = (await Client.PostAsync("/v1/auth/verify-email/resend", new { email = user.Email })).AssertStatus(HttpStatusCode.Accepted);
        Assert.Equal(forUnknown.Body, forVerified.Body);
        Assert.StartsWith("If an unverified account has this email", (string?)forUnknown.Data["message"]);
        var marker = await Client.RegisterAsync();
        await Mail.WaitForAsync(marker.Email); // the queue is in order: what came before has been handled
        Assert.Equal(2, Mail.For(user.Email).Count);
        Assert.Empty(Mail.For(unknown));
    }

    [Fact]
    public async Task A_password_reset_answers_202_either_way_and_its_link_sets_a_new_password_once_and_ends_every_session()
    {
        var user = await Client.RegisterAsync();
        var (_, key) = await Client.CreateApiKeyAsync(user.Token);
        var unknown = $"nobody{Guid.NewGuid():N}@example.test";

        var forUnknown = await Client.PostAsync("/v1/auth/password-reset", new { email = unknown });
        var forKnown = await Client.PostAsync("/v1/auth/password-reset", new { email = user.Email.ToUpperInvariant() });
        forUnknown.AssertStatus(HttpStatusCode.Accepted);
        forKnown.AssertStatus(HttpStatusCode.Accepted);
        Assert.Equal(forUnknown.Body, forKnown.Body);
        Assert.StartsWith("If an account has this email", (string?)forKnown.Data["message"]);

        var mail = await Mail.WaitForAsync(user.Email, count: 2);
        Assert.Equal("Reset your password", mail.Subject);
        Assert.Empty(Mail.For(unknown));
        var token = TestMailServer.TokenOf(mail, "/reset-password");

        (await Client.PostAsync("/v1/auth/password-reset/confirm", new { token, new_password = "short" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PostAsync("/v1/auth/password-reset/confirm", new { token, new_password = "a-reset-password" })).AssertStatus(HttpStatusCode.NoContent);

        (await Client.GetAsync("/v1/users/me", user.Token)).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.PostAsync("/v1/auth/refresh", new { refresh_token = user.RefreshToken })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_token");
        (await Client.PostAsync("/v1/auth/login", new { email = user.Email, password = user.Password })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_credentials");
        await Client.LoginAsync(user.Email, "a-reset-password");
        (await Client.GetAsync("/v1/users/me", Credential.ApiKeyHeader(key))).AssertStatus(HttpStatusCode.OK);

        (await Client.PostAsync("/v1/auth/password-reset/confirm", new { token, new_password = "another-password" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task A_reset_link_expires_after_an_hour_and_a_newer_one_replaces_it()
    {
        var user = await Client.RegisterAsync();
        (await Client.PostAsync("/v1/auth/password-reset", new { email = user.Email })).AssertStatus(HttpStatusCode.Accepted);
        var first = TestMailServer.TokenOf(await Mail.WaitForAsync(user.Email, count: 2), "/reset-password");
        (await Client.PostAsync("/v1/auth/password-reset", new { email = user.Email })).AssertStatus(HttpStatusCode.Accepted);
        var second = TestMailServer.TokenOf(await Mail.WaitForAsync(user.Email, count: 3), "/reset-password");

        (await Client.PostAsync("/v1/auth/password-reset/confirm", new { token = first, new_password = "a-reset-password" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Server.Time.Advance(TimeSpan.FromMinutes(61));
        (await Client.PostAsync("/v1/auth/password-reset/confirm", new { token = second, new_password = "a-reset-password" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        await Client.LoginAsync(user.Email, user.Password);
    }

    [Fact]
    public async Task Mail_requests_per_address_are_limited_whether_or_not_it_has_an_account()
    {
        var address = $"flood{Guid.NewGuid():N}@example.test";
        for (var i = 0; i < 5; i++)
        {
            (await Client.PostAsync("/v1/auth/password-reset", new { email = address })).AssertStatus(HttpStatusCode.Accepted);
        }

        var refused = await Client.PostAsync("/v1/auth/password-reset", new { email = address });
        refused.AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.NotNull(refused.Header("Retry-After"));
        (await Client.PostAsync("/v1/auth/password-reset", new { email = "not-an-email" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
    }
}

[Collection(Servers.Embedded)]
public sealed class MailTestsOnEmbedded(EmbeddedServer server) : MailTests(server);

[Collection(Servers.Postgres)]
public sealed class MailTestsOnPostgres(PostgresServer server) : MailTests(server);

/// <summary>
/// <c>Auth:RequireVerifiedEmail</c>, on a server with no SMTP host: registering gives no tokens, login waits for the
/// verification, and the mail is an <c>.eml</c> file under the data directory whose path is logged.
/// </summary>
public abstract class VerifiedEmailRequiredTests(ApiServer server) : ApiTestBase(server)
{
    [Fact]
    public async Task Login_waits_for_the_verification_and_the_mail_is_a_file_in_the_data_directory()
    {
        var email = $"strict{Guid.NewGuid():N}@example.test";
        var registered = (await Client.PostAsync("/v1/auth/register", new { email, username = "s" + Guid.NewGuid().ToString("N")[..10], password = "correct-horse-battery" }))
            .AssertStatus(HttpStatusCode.Created);
        Assert.Null(registered.Json["access_token"]);
        Assert.True((bool)registered.Json["verification_required"]!);
        Assert.Equal(email, (string?)registered.Json["user"]!["email"]);

        (await Client.PostAsync("/v1/auth/login", new { email, password = "correct-horse-battery" })).AssertProblem(HttpStatusCode.Forbidden, "email_not_verified");
        (await Client.PostAsync("/v1/auth/login", new { email, password = "wrong-password" })).AssertProblem(HttpStatusCode.Unauthorized, "invalid_credentials");

        var folder = Path.Combine(Server.DataDirectory, "mail");
        string? file = null;
        await Eventually.HoldsAsync(() =>
        {
            file = Directory.Exists(folder)
                ? Directory.EnumerateFiles(folder, "*.eml").FirstOrDefault(f => File.ReadAllText(f).Contains(email, StringComparison.Ordinal))
                : null;
            return Task.FromResult(file is not null);
        }, "the verification mail's file");
        var mail = await MimeKit.MimeMessage.LoadAsync(file!, TestContext.Current.CancellationToken);
        (await Client.PostAsync("/v1/auth/verify-email", new { token = TestMailServer.TokenOf(mail, "/verify-email") })).AssertStatus(HttpStatusCode.NoContent);

        await Client.LoginAsync(email, "correct-horse-battery");
    }
}

public sealed class VerifiedEmailRequiredTestsOnEmbedded(StrictEmbeddedServer server) : VerifiedEmailRequiredTests(server), IClassFixture<StrictEmbeddedServer>;

public sealed class VerifiedEmailRequiredTestsOnPostgres(StrictPostgresServer server) : VerifiedEmailRequiredTests(server), IClassFixture<StrictPostgresServer>;
