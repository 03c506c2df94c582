namespace ApiPlatform.Grains.Identity;

/// <summary>
/// One login session (key: session id): the refresh-token family. Refresh tokens are single use and rotate;
/// presenting one that was already used revokes the whole session (token-theft detection), except that the token
/// just rotated may be presented again within a short retry window (a response lost on the way) and gets the same new
/// pair. Access tokens carry the session id and stop working once the session ends. A session's expiry slides with
/// each refresh but never passes its absolute end.
/// </summary>
[Alias("ISessionGrain")]
public interface ISessionGrain : IGrainWithStringKey
{
    /// <summary>Starts the session and returns its first refresh token.</summary>
    [Alias("StartAsync.v2")]
    Task<string> StartAsync(SessionStart start);

    /// <summary>
    /// Exchanges a refresh token for the next one. The token rotated within <paramref name="retryWindow"/> is answered
    /// again with the same new token (and the access token recorded for it, if any).
    /// </summary>
    [Alias("RefreshAsync.v2")]
    Task<RefreshOutcome> RefreshAsync(string refreshToken, TimeSpan retryWindow);

    /// <summary>Remembers the access token issued with <paramref name="refreshToken"/>, for a retry of that refresh.</summary>
    [Alias("RecordAccessTokenAsync")]
    Task RecordAccessTokenAsync(string refreshToken, string accessToken);

    /// <summary>True while the session is neither revoked nor expired; notes the use.</summary>
    [Alias("IsActiveAsync")]
    Task<bool> IsActiveAsync();

    /// <summary>Ends the session: its refresh token and access tokens stop working.</summary>
    [Alias("RevokeAsync")]
    Task RevokeAsync();

    /// <summary>Ends the session if it is an active session of <paramref name="userId"/>; false otherwise.</summary>
    [Alias("EndForUserAsync")]
    Task<bool> EndForUserAsync(string userId);
}

/// <summary>What a new session needs: whose it is, its sliding and absolute lifetimes, and the client it was made for.</summary>
[GenerateSerializer, Immutable, Alias("session-start.v1")]
public sealed record SessionStart(
    [property: Id(0)] string UserId,
    [property: Id(1)] TimeSpan Lifetime,
    [property: Id(2)] TimeSpan MaxLifetime,
    [property: Id(3)] string? UserAgent);

/// <summary>What a refresh attempt came to.</summary>
[GenerateSerializer]
public enum RefreshStatus
{
    /// <summary>A new refresh token was issued (or, for a retry within the window, issued again).</summary>
    Rotated,
    /// <summary>The token is unknown, expired or belongs to an ended session.</summary>
    Invalid,
    /// <summary>The token was already used: the session is now revoked.</summary>
    Reused,
}

/// <summary>
/// Outcome of <see cref="ISessionGrain.RefreshAsync"/>. <see cref="AccessToken"/> is set when a retry within the window
/// gets the pair the first attempt was given.
/// </summary>
[GenerateSerializer, Immutable, Alias("refresh-outcome.v1")]
public sealed record RefreshOutcome(
    [property: Id(0)] RefreshStatus Status,
    [property: Id(1)] string? UserId,
    [property: Id(2)] string? RefreshToken,
    [property: Id(3)] string? AccessToken = null);

/// <summary>A session as its user sees it in <c>GET /v1/users/me/sessions</c>.</summary>
[GenerateSerializer, Immutable, Alias("session-view.v1")]
public sealed record SessionView(
    [property: Id(0)] string Id,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] DateTimeOffset LastUsedAt,
    [property: Id(3)] DateTimeOffset ExpiresAt,
    [property: Id(4)] string? UserAgent);

/// <summary>Lists sessions next to the data (a stateless worker on every silo).</summary>
[Alias("ISessionListWorker")]
public interface ISessionListWorker : IGrainWithIntegerKey
{
    /// <summary>The user's active sessions, most recently used first, with the exact total.</summary>
    [Alias("ListAsync")]
    Task<SessionPage> ListAsync(string userId, int offset, int limit);

    /// <summary>The ids of the user's sessions that are neither revoked nor expired (to end each through its grain).</summary>
    [Alias("ActiveIdsAsync")]
    Task<IReadOnlyList<string>> ActiveIdsAsync(string userId);
}

/// <summary>A page of sessions with the exact total.</summary>
[GenerateSerializer, Immutable, Alias("session-page.v1")]
public sealed record SessionPage(
    [property: Id(0)] IReadOnlyList<SessionView> Items,
    [property: Id(1)] long Total);

/// <summary>Refresh tokens are <c>rt_{session suffix}_{secret}</c>, so the session is found without a lookup.</summary>
public static class RefreshTokens
{
    public const string Prefix = "rt_";

    public static string Create(string sessionId, string secret) => Prefix + Ids.Suffix(sessionId) + "_" + secret;

    /// <summary>The session id a refresh token names, or null when the token is malformed.</summary>
    public static string? SessionIdOf(string? token)
    {
        if (token is null || !token.StartsWith(Prefix, StringComparison.Ordinal) || token.Length > 200)
        {
            return null;
        }

        var rest = token.AsSpan(Prefix.Length);
        var sep = rest.IndexOf('_');
        if (sep <= 0)
        {
            return null;
        }

        var sessionId = Ids.Session + "_" + rest[..sep].ToString();
        return Ids.IsValid(sessionId, Ids.Session) ? sessionId : null;
    }
}
