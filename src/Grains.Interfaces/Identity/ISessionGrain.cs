namespace ApiPlatform.Grains.Identity;

/// <summary>
/// One login session (key: session id): the refresh-token family. Refresh tokens are single use and rotate;
/// presenting one that was already used revokes the whole session (token-theft detection). Access tokens carry
/// the session id and stop working once the session ends.
/// </summary>
[Alias("ISessionGrain")]
public interface ISessionGrain : IGrainWithStringKey
{
    /// <summary>Starts the session for a user and returns its first refresh token.</summary>
    [Alias("StartAsync")]
    Task<string> StartAsync(string userId, TimeSpan lifetime);

    /// <summary>Exchanges a refresh token for the next one.</summary>
    [Alias("RefreshAsync")]
    Task<RefreshOutcome> RefreshAsync(string refreshToken);

    /// <summary>True while the session is neither revoked nor expired.</summary>
    [Alias("IsActiveAsync")]
    Task<bool> IsActiveAsync();

    /// <summary>Ends the session: its refresh token and access tokens stop working.</summary>
    [Alias("RevokeAsync")]
    Task RevokeAsync();
}

/// <summary>What a refresh attempt came to.</summary>
[GenerateSerializer]
public enum RefreshStatus
{
    /// <summary>A new refresh token was issued.</summary>
    Rotated,
    /// <summary>The token is unknown, expired or belongs to an ended session.</summary>
    Invalid,
    /// <summary>The token was already used: the session is now revoked.</summary>
    Reused,
}

/// <summary>Outcome of <see cref="ISessionGrain.RefreshAsync"/>.</summary>
[GenerateSerializer, Immutable, Alias("refresh-outcome.v1")]
public sealed record RefreshOutcome(
    [property: Id(0)] RefreshStatus Status,
    [property: Id(1)] string? UserId,
    [property: Id(2)] string? RefreshToken);

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
