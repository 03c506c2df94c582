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
public sealed class IdentityService(GrainRefs grains, TokenService tokens, IOptions<PlanOptions> plans, ILogger<IdentityService> logger)
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
    public async Task<UserView> RegisterAsync(Registration registration, string role = SystemRoles.User, string? plan = null, string? userId = null)
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
        var user = new NewUser(registration.Email.Trim(), registration.Username.Trim(), hash, role, plan ?? plans.Value.DefaultPlan, registration.Profile);
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

    /// <summary>Starts a session and issues its first token pair.</summary>
    public async Task<TokenResponse> StartSessionAsync(UserCredentials user)
    {
        var sessionId = Ids.New(Ids.Session);
        var refresh = await grains.Get<ISessionGrain>(sessionId).StartAsync(user.UserId, tokens.RefreshTokenLifetime);
        return Tokens(user, sessionId, refresh);
    }

    /// <summary>Rotates a refresh token; a reused one ends its session.</summary>
    public async Task<TokenResponse> RefreshAsync(string refreshToken)
    {
        var sessionId = RefreshTokens.SessionIdOf(refreshToken)
            ?? throw ApiException.Unauthorized(ProblemCodes.InvalidToken, "The refresh token is invalid.");
        var outcome = await grains.Get<ISessionGrain>(sessionId).RefreshAsync(refreshToken);
        switch (outcome.Status)
        {
            case RefreshStatus.Reused:
                logger.LogWarning("Refresh token reuse on session {SessionId}: session revoked", sessionId);
                throw ApiException.Unauthorized(ProblemCodes.InvalidToken,
                    "The refresh token was already used. The session has been ended; log in again.");
            case RefreshStatus.Invalid:
                throw ApiException.Unauthorized(ProblemCodes.InvalidToken, "The refresh token is invalid or expired.");
        }

        // Role and plan are re-read so that a change reaches the next access token.
        var user = await grains.Get<IUserGrain>(outcome.UserId!).GetCredentialsAsync();
        if (user is null)
        {
            await grains.Get<ISessionGrain>(sessionId).RevokeAsync();
            throw ApiException.Unauthorized(ProblemCodes.InvalidToken, "The account no longer exists.");
        }

        return Tokens(user, sessionId, outcome.RefreshToken!);
    }

    private TokenResponse Tokens(UserCredentials user, string sessionId, string refreshToken) =>
        new(tokens.CreateAccessToken(new AccessTokenClaims(user.UserId, sessionId, user.Role, user.Plan)),
            refreshToken, "Bearer", tokens.AccessTokenSeconds);
}
