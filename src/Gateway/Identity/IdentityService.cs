using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Users;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Identity;

/// <summary>The token object the auth endpoints answer with.</summary>
public sealed record TokenResponse(string AccessToken, string RefreshToken, string TokenType, int ExpiresIn);

/// <summary>What registration needs.</summary>
public sealed record Registration(string Email, string Username, string Password, UserProfile Profile);

/// <summary>
/// Accounts and sessions. Password hashing (PBKDF2, ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/>)
/// runs here on the thread pool, never on a grain's scheduler; grains store only hashes.
/// </summary>
public sealed class IdentityService(
    GrainRefs grains,
    TokenService tokens,
    AccountCache accounts,
    IOptions<PlanOptions> plans,
    IOptions<AuthOptions> auth,
    ILogger<IdentityService> logger)
{
    private static readonly PasswordHasher<object> Hasher = new();
    private static readonly object Nobody = new();

    // Verified when an email is unknown, so that answering takes as long as for a real account.
    private static readonly string DecoyHash = Hasher.HashPassword(Nobody, Ids.RandomToken(24));

    public static string HashPassword(string password) => Hasher.HashPassword(Nobody, password);

    /// <summary>
    /// Creates a user, reserving email and username first so that concurrent registrations cannot both win. With a
    /// given <paramref name="userId"/> every step is idempotent for that id, so any number of callers (or a caller
    /// repeating after a crash) converge on one account: the claims are the id's own, the user is created once, and a
    /// half-done earlier attempt is finished rather than left blocking the email.
    /// </summary>
    /// <remarks><paramref name="emailVerified"/>: the email is known to be the user's (the configured administrator's).</remarks>
    public async Task<UserView> RegisterAsync(Registration registration, string role = SystemRoles.User, string? plan = null, string? userId = null, bool emailVerified = false)
    {
        var fixedId = userId is not null;
        userId ??= Ids.New(Ids.User);
        var email = grains.Get<IUniqueIndexGrain>(UniqueKeys.Email(registration.Email));
        var username = grains.Get<IUniqueIndexGrain>(UniqueKeys.Username(registration.Username));

        if (!await email.TryClaimAsync(userId))
        {
            throw ApiException.AlreadyExists("email", "An account with this email already exists.");
        }

        if (!await username.TryClaimAsync(userId))
        {
            if (!fixedId)
            {
                await email.ReleaseAsync(userId);
            }

            throw ApiException.AlreadyExists("username", "This username is taken.");
        }

        var hash = await Task.Run(() => HashPassword(registration.Password));
        var user = new NewUser(registration.Email.Trim(), registration.Username.Trim(), hash, role, plan ?? plans.Value.DefaultPlan, registration.Profile, emailVerified);
        // With a fixed id the user may exist already (created by another caller or an attempt that crashed before
        // confirming): that is the same account, and the confirmations below finish it.
        if (!await grains.Get<IUserGrain>(userId).CreateAsync(user) && !fixedId)
        {
            throw new InvalidOperationException($"Fresh user id {userId} already in use.");
        }

        await Task.WhenAll(email.ConfirmAsync(userId), username.ConfirmAsync(userId));
        return (await grains.Get<IUserGrain>(userId).GetAsync())!;
    }

    /// <summary>
    /// Checks email and password. Failures look the same whether or not the email exists, and repeated attempts
    /// lock the email (known or not) for a while: each attempt is counted before the hash is checked, so concurrent
    /// guesses cannot all slip past the limit.
    /// </summary>
    public async Task<UserCredentials> VerifyPasswordAsync(string email, string password)
    {
        var throttle = grains.Get<ILoginThrottleGrain>(UniqueKeys.Email(email));
        if (await throttle.BeginAttemptAsync() is { } wait)
        {
            throw ApiException.TooManyRequests("Too many failed logins for this account. Try again later.", wait);
        }

        var userId = await grains.Get<IUniqueIndexGrain>(UniqueKeys.Email(email)).GetOwnerAsync();
        var credentials = userId is null ? null : await grains.Get<IUserGrain>(userId).GetCredentialsAsync();
        var result = await Task.Run(() => Hasher.VerifyHashedPassword(Nobody, credentials?.PasswordHash ?? DecoyHash, password));

        if (credentials is null || result == PasswordVerificationResult.Failed)
        {
            // Already counted by BeginAttemptAsync.
            throw ApiException.Unauthorized(ProblemCodes.InvalidCredentials, "The email or password is incorrect.");
        }

        await throttle.ResetAsync();
        if (result == PasswordVerificationResult.SuccessRehashNeeded)
        {
            await grains.Get<IUserGrain>(credentials.UserId).SetPasswordHashAsync(await Task.Run(() => HashPassword(password)));
        }

        return credentials;
    }

    /// <summary>
    /// Logs in: the password first (so a wrong one reveals nothing else), then whether the account may log in at all:
    /// not disabled (403 <c>account_disabled</c>) and, when <c>Auth:RequireVerifiedEmail</c> is set, verified
    /// (403 <c>email_not_verified</c>).
    /// </summary>
    public async Task<TokenResponse> LoginAsync(string email, string password, string? userAgent)
    {
        var user = await VerifyPasswordAsync(email, password);
        ThrowIfCannotLogIn(user.Disabled, user.EmailVerified);
        return await StartSessionAsync(user.UserId, userAgent);
    }

    /// <summary>Starts a session and issues its first token pair.</summary>
    public async Task<TokenResponse> StartSessionAsync(string userId, string? userAgent)
    {
        var sessionId = Ids.New(Ids.Session);
        var refresh = await grains.Get<ISessionGrain>(sessionId).StartAsync(
            new SessionStart(userId, tokens.RefreshTokenLifetime, tokens.SessionMaxLifetime, Truncate(userAgent)));
        var account = await accounts.GetAsync(userId);
        return new TokenResponse(AccessToken(userId, sessionId, account), refresh, "Bearer", tokens.AccessTokenSeconds);
    }

    /// <summary>
    /// Rotates a refresh token; a reused one ends its session. The token rotated last is answered again with the
    /// same pair within <c>Jwt:RefreshRetryWindow</c> (its first answer may have been lost).
    /// </summary>
    public async Task<TokenResponse> RefreshAsync(string refreshToken)
    {
        var sessionId = RefreshTokens.SessionIdOf(refreshToken)
            ?? throw ApiException.Unauthorized(ProblemCodes.InvalidToken, "The refresh token is invalid.");
        var session = grains.Get<ISessionGrain>(sessionId);
        var outcome = await session.RefreshAsync(refreshToken, tokens.RefreshRetryWindow);
        switch (outcome.Status)
        {
            case RefreshStatus.Reused:
                logger.LogWarning("Refresh token reuse on session {SessionId}: session revoked", sessionId);
                throw ApiException.Unauthorized(ProblemCodes.InvalidToken,
                    "The refresh token was already used. The session has been ended; log in again.");
            case RefreshStatus.Invalid:
                throw ApiException.Unauthorized(ProblemCodes.InvalidToken, "The refresh token is invalid or expired.");
        }

        var account = await accounts.GetAsync(outcome.UserId!);
        if (!account.Exists)
        {
            await session.RevokeAsync();
            throw ApiException.Unauthorized(ProblemCodes.InvalidToken, "The account no longer exists.");
        }

        ThrowIfCannotLogIn(account.Disabled, emailVerified: true);
        if (outcome.AccessToken is { } again)
        {
            return new TokenResponse(again, outcome.RefreshToken!, "Bearer", tokens.AccessTokenSeconds);
        }

        var access = AccessToken(outcome.UserId!, sessionId, account);
        await session.RecordAccessTokenAsync(outcome.RefreshToken!, access);
        return new TokenResponse(access, outcome.RefreshToken!, "Bearer", tokens.AccessTokenSeconds);
    }

    /// <summary>
    /// Changes the password after checking the current one (repeated wrong ones lock like logins do), and ends every
    /// other session of the user.
    /// </summary>
    public async Task ChangePasswordAsync(string userId, string sessionId, string currentPassword, string newPassword)
    {
        var user = grains.Get<IUserGrain>(userId);
        var credentials = await user.GetCredentialsAsync() ?? throw ApiException.NotFound("The user");
        var throttle = grains.Get<ILoginThrottleGrain>(UniqueKeys.Email(credentials.Email));
        // Counted before the check, in the throttle's own turn, so concurrent guesses cannot slip past the limit.
        if (await throttle.BeginAttemptAsync() is { } wait)
        {
            throw ApiException.TooManyRequests("Too many wrong passwords for this account. Try again later.", wait);
        }

        if (await Task.Run(() => Hasher.VerifyHashedPassword(Nobody, credentials.PasswordHash, currentPassword)) == PasswordVerificationResult.Failed)
        {
            throw ApiException.Invalid("current_password", "is not the account's password");
        }

        await throttle.ResetAsync();

        await user.ChangePasswordAsync(await Task.Run(() => HashPassword(newPassword)), keepSessionId: sessionId);
    }

    private void ThrowIfCannotLogIn(bool disabled, bool emailVerified)
    {
        if (disabled)
        {
            throw new ApiException(StatusCodes.Status403Forbidden, ProblemCodes.AccountDisabled, "This account is disabled.");
        }

        if (!emailVerified && auth.Value.RequireVerifiedEmail)
        {
            throw new ApiException(StatusCodes.Status403Forbidden, ProblemCodes.EmailNotVerified,
                "Verify your email address first: follow the link in the email we sent, or ask for a new one with POST /v1/auth/verify-email/resend.");
        }
    }

    /// <summary>An access token. Its role and plan claims are informative only: requests read the account's current ones.</summary>
    private string AccessToken(string userId, string sessionId, AccountAccess account) =>
        tokens.CreateAccessToken(new AccessTokenClaims(userId, sessionId, account.Role ?? SystemRoles.User, account.Plan));

    private static string? Truncate(string? userAgent) =>
        string.IsNullOrWhiteSpace(userAgent) ? null : userAgent.Length <= 256 ? userAgent : userAgent[..256];
}
