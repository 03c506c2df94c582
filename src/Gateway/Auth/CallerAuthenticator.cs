using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Organizations;
using ApiPlatform.Grains.Telemetry;

namespace ApiPlatform.Gateway.Auth;

/// <summary>
/// Turns the request's credential into a <see cref="Caller"/>: an access token (<c>Authorization: Bearer eyJ…</c>),
/// or an API key (<c>x-api-key: sk_…</c> or <c>Authorization: Bearer sk_…</c>). Each failure names its cause.
/// </summary>
public sealed class CallerAuthenticator(TokenService tokens, GrainRefs grains, ApiKeyCache keys)
{
    public const string ApiKeyHeader = "x-api-key";
    public const string OrganizationHeader = "X-Organization-Id";

    public async Task<Caller> AuthenticateAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        var organization = headers[OrganizationHeader].ToString().Trim();
        var apiKey = headers[ApiKeyHeader].ToString();
        if (apiKey.Length > 0)
        {
            return ForKey(await FromApiKeyAsync(apiKey.Trim()), organization);
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
        if (ApiKeyTokens.LooksLikeApiKey(credential))
        {
            return ForKey(await FromApiKeyAsync(credential), organization);
        }

        var caller = await FromAccessTokenAsync(credential);
        return organization.Length == 0 ? caller : await ForOrganizationAsync(caller, organization);
    }

    /// <summary>
    /// A member's access token acts for the organization it names. Non-members, and organizations that do not
    /// exist, get the same 404: an outsider learns nothing about which organizations exist.
    /// </summary>
    private async Task<Caller> ForOrganizationAsync(Caller caller, string organizationId)
    {
        var membership = Grains.Ids.IsValid(organizationId, Grains.Ids.Organization)
            ? await grains.Get<IOrganizationGrain>(organizationId).GetMembershipAsync(caller.UserId!)
            : null;
        return membership is null
            ? throw ApiException.NotFound("The organization")
            : caller with { OwnerId = organizationId, OrgRole = membership.Role, OwnerPlan = membership.Plan };
    }

    /// <summary>An API key acts for its owner alone: naming another organization is a mistake worth reporting.</summary>
    private static Caller ForKey(Caller caller, string organizationId) =>
        organizationId.Length == 0 || organizationId == caller.OwnerId
            ? caller
            : throw ApiException.Invalid(OrganizationHeader, "cannot be used with an API key: a key acts for its owner");

    private async Task<Caller> FromAccessTokenAsync(string token)
    {
        var claims = await tokens.ValidateAsync(token)
            ?? throw Challenge(ProblemCodes.InvalidToken, "The access token is malformed, expired or not signed by this service.");

        // One in-memory grain call: logout and refresh-token theft end the session for every silo at once.
        if (!await grains.Get<ISessionGrain>(claims.SessionId).IsActiveAsync())
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

        var hit = keys.TryGet(keyId, presented, out var known);
        ApiTelemetry.ApiKeyCacheLookup(hit);
        if (hit)
        {
            return known;
        }

        var stamp = keys.Stamp;
        var check = await grains.Get<IApiKeyGrain>(keyId).VerifyAsync(presented, keys.Reference);
        var caller = check.Status switch
        {
            ApiKeyCheckStatus.Valid when check.OwnerId!.StartsWith(Grains.Ids.Organization + "_", StringComparison.Ordinal) =>
                await ForOrganizationKeyAsync(check, keyId),
            ApiKeyCheckStatus.Valid => new Caller(CredentialKind.ApiKey, check.OwnerId, check.OwnerId!, check.Plan!, check.Scopes, ApiKeyId: keyId),
            ApiKeyCheckStatus.Expired => throw Challenge(ProblemCodes.ExpiredApiKey, "The API key has expired. Create a new one."),
            ApiKeyCheckStatus.Revoked => throw Challenge(ProblemCodes.RevokedApiKey, "The API key has been revoked."),
            _ => throw Challenge(ProblemCodes.InvalidApiKey, "The API key is not recognised."),
        };
        keys.Add(keyId, presented, caller, check.ExpiresAt, stamp);
        return caller;
    }

    private async Task<Caller> ForOrganizationKeyAsync(ApiKeyCheck check, string keyId)
    {
        // Deleting an organization revokes its keys; this check also covers a deletion that crashed midway.
        if (!await grains.Get<IOrganizationGrain>(check.OwnerId!).ExistsAsync())
        {
            throw Challenge(ProblemCodes.RevokedApiKey, "The API key's organization has been deleted.");
        }

        // An organization's key manages its keys and webhooks like an admin, but cannot change the organization.
        return new Caller(CredentialKind.ApiKey, null, check.OwnerId!, check.Plan!, check.Scopes, ApiKeyId: keyId, OrgRole: OrgRoles.Admin);
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
