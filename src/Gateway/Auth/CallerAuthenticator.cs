using ApiPlatform.Gateway.Errors;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.Identity;

namespace ApiPlatform.Gateway.Auth;

/// <summary>
/// Turns the request's credential into a <see cref="Caller"/>: an access token (<c>Authorization: Bearer eyJ…</c>),
/// or an API key (<c>x-api-key: sk_…</c> or <c>Authorization: Bearer sk_…</c>). Each failure names its cause.
/// </summary>
public sealed class CallerAuthenticator(TokenService tokens, IGrainFactory grains)
{
    public const string ApiKeyHeader = "x-api-key";

    public async Task<Caller> AuthenticateAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        var apiKey = headers[ApiKeyHeader].ToString();
        if (apiKey.Length > 0)
        {
            return await FromApiKeyAsync(apiKey.Trim());
        }

        var authorization = headers.Authorization.ToString();
        if (authorization.Length == 0)
        {
            throw Challenge(ProblemCodes.AuthenticationRequired,
                "Send an access token or API key: 'Authorization: Bearer <token>' or 'x-api-key: <key>'.");
        }

        const string bearer = "Bearer ";
        if (!authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) || authorization.Length == bearer.Length)
        {
            throw Challenge(ProblemCodes.AuthenticationRequired, "The Authorization header must use the Bearer scheme.");
        }

        var credential = authorization[bearer.Length..].Trim();
        return ApiKeyTokens.LooksLikeApiKey(credential)
            ? await FromApiKeyAsync(credential)
            : await FromAccessTokenAsync(credential);
    }

    private async Task<Caller> FromAccessTokenAsync(string token)
    {
        var claims = await tokens.ValidateAsync(token)
            ?? throw Challenge(ProblemCodes.InvalidToken, "The access token is malformed, expired or not signed by this service.");

        // One in-memory grain call: logout and refresh-token theft end the session for every silo at once.
        if (!await grains.GetGrain<ISessionGrain>(claims.SessionId).IsActiveAsync())
        {
            throw Challenge(ProblemCodes.InvalidToken, "The session of this access token has ended. Log in again.");
        }

        return new Caller(CredentialKind.AccessToken, claims.UserId, claims.UserId, claims.Plan, Caller.AllScopes,
            SessionId: claims.SessionId, Role: claims.Role);
    }

    private async Task<Caller> FromApiKeyAsync(string presented)
    {
        if (!ApiKeyTokens.TryParse(presented, out var keyId, out _))
        {
            throw Challenge(ProblemCodes.InvalidApiKey, "The API key is not recognised.");
        }

        var check = await grains.GetGrain<IApiKeyGrain>(keyId).VerifyAsync(presented);
        return check.Status switch
        {
            ApiKeyCheckStatus.Valid => new Caller(CredentialKind.ApiKey,
                check.OwnerId!.StartsWith(Grains.Ids.User + "_", StringComparison.Ordinal) ? check.OwnerId : null,
                check.OwnerId, check.Plan!, check.Scopes, ApiKeyId: keyId),
            ApiKeyCheckStatus.Expired => throw Challenge(ProblemCodes.ExpiredApiKey, "The API key has expired. Create a new one."),
            ApiKeyCheckStatus.Revoked => throw Challenge(ProblemCodes.RevokedApiKey, "The API key has been revoked."),
            _ => throw Challenge(ProblemCodes.InvalidApiKey, "The API key is not recognised."),
        };
    }

    private static ApiException Challenge(string code, string detail)
    {
        var error = ApiException.Unauthorized(code, detail);
        error.Headers["WWW-Authenticate"] = code == ProblemCodes.AuthenticationRequired
            ? "Bearer realm=\"api\""
            : $"Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{code}\"";
        return error;
    }
}
