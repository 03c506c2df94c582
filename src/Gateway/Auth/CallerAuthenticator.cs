using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Organizations;
using ApiPlatform.Grains.Users;
using ApiPlatform.Grains.Telemetry;

namespace ApiPlatform.Gateway.Auth;

/// <summary>
/// Turns the request's credential into a <see cref="Caller"/>: an access token (<c>Authorization: Bearer eyJ…</c>),
/// or an API key (<c>x-api-key: sk_…</c> or <c>Authorization: Bearer sk_…</c>). Each failure names its cause. Plan,
/// role and the disabled flag come from the accounts' current state (<see cref="AccountCache"/>), never from a token.
/// </summary>
/// <remarks>
/// Work is paid for: <see cref="AuthenticateAsync"/> establishes who calls, and <see cref="ActForOrganizationAsync"/>
/// then applies <c>X-Organization-Id</c>; the caller's budget pays for an organization that turns out unknown. Ids that
/// named nothing are remembered briefly (<see cref="UnknownIds"/>), and an address whose anonymous budget is spent gets
/// no key verification at all.
/// </remarks>
public sealed class CallerAuthenticator(TokenService tokens, GrainRefs grains, ApiKeyCache keys, AccountCache accounts, UnknownIds unknown,
    RateLimiting.RateLimiter limiter, Microsoft.Extensions.Options.IOptionsMonitor<Failover.FailoverOptions> failover)
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
            return ForKey(await FromApiKeyAsync(context, apiKey.Trim()), organization);
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
            return ForKey(await FromApiKeyAsync(context, credential), organization);
        }

        return await FromAccessTokenAsync(credential);
    }

    /// <summary>
    /// Applies <c>X-Organization-Id</c> to an access token's caller: a member acts for the organization (and spends its
    /// budget). Keys were checked against the header in <see cref="AuthenticateAsync"/> already.
    /// </summary>
    public async Task<Caller> ActForOrganizationAsync(HttpContext context, Caller caller)
    {
        var organization = context.Request.Headers[OrganizationHeader].ToString().Trim();
        return organization.Length == 0 || caller.Kind != CredentialKind.AccessToken ? caller : await ForOrganizationAsync(caller, organization);
    }

    /// <summary>
    /// A member's access token acts for the organization it names. Non-members, and organizations that do not
    /// exist, get the same 404: an outsider learns nothing about which organizations exist.
    /// </summary>
    private async Task<Caller> ForOrganizationAsync(Caller caller, string organizationId)
    {
        if (!Grains.Ids.IsValid(organizationId, Grains.Ids.Organization) || unknown.Contains(organizationId))
        {
            throw ApiException.NotFound("The organization");
        }

        var organization = grains.Get<IOrganizationGrain>(organizationId);
        if (await organization.GetMembershipAsync(caller.UserId!) is not { } membership)
        {
            // Only an id of no organization is remembered; a non-member of a real one is asked again next time.
            if (!await organization.ExistsAsync())
            {
                unknown.Add(organizationId);
            }

            throw ApiException.NotFound("The organization");
        }

        return caller with { OwnerId = organizationId, OrgRole = membership.Role, Plan = membership.Plan, OwnerPlan = membership.Plan };
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

        // The account first: a disabled account's tokens say so (disabling also ends its sessions).
        var account = await accounts.GetAsync(claims.UserId);
        if (!account.Exists)
        {
            throw Challenge(ProblemCodes.InvalidToken, "The account of this access token no longer exists.");
        }

        ThrowIfDisabled(account);

        // One in-memory grain call: logout and refresh-token theft end the session for every silo at once.
        if (!await grains.Get<ISessionGrain>(claims.SessionId).IsActiveAsync())
        {
            throw Challenge(ProblemCodes.InvalidToken, "The session of this access token has ended. Log in again.");
        }
        return new Caller(CredentialKind.AccessToken, claims.UserId, claims.UserId, account.Plan, Caller.AllScopes,
            SessionId: claims.SessionId, Role: account.Role);
    }

    private async Task<Caller> FromApiKeyAsync(HttpContext context, string presented)
    {
        if (!ApiKeyTokens.TryParse(presented, out var keyId, out _))
        {
            throw Challenge(ProblemCodes.InvalidApiKey, "The API key is not recognised.");
        }

        var hit = keys.TryGet(keyId, presented, out var check);
        ApiTelemetry.ApiKeyCacheLookup(hit);
        if (!hit)
        {
            if (unknown.Contains(keyId))
            {
                throw Challenge(ProblemCodes.InvalidApiKey, "The API key is not recognised.");
            }

            // Verifying a key this silo does not know costs a grain call and maybe a storage read: not for an address
            // that has already spent its budget on failed credentials.
            limiter.ThrowIfAddressSpent(context);
            var stamp = keys.Stamp;
            try
            {
                check = await grains.Get<IApiKeyGrain>(keyId).VerifyAsync(presented, keys.Reference);
            }
            catch (Exception e) when (Failover.ClusterFailures.IsUnavailable(e) && failover.CurrentValue is { Enabled: true } settings
                && keys.TryGetStale(keyId, presented, settings.StaleCredentialAge, out var stale))
            {
                // The key's grain is unreachable (its silo stopped answering): a key this silo verified recently and was
                // never told to forget is admitted, as it would have been a little earlier.
                ApiTelemetry.FailoverFallback("stale_api_key");
                return await ForKeyAsync(stale, keyId);
            }

            switch (check.Status)
            {
                case ApiKeyCheckStatus.Valid:
                    keys.Add(keyId, presented, check, stamp);
                    break;
                case ApiKeyCheckStatus.Expired:
                    throw Challenge(ProblemCodes.ExpiredApiKey, "The API key has expired. Create a new one.");
                case ApiKeyCheckStatus.Revoked:
                    throw Challenge(ProblemCodes.RevokedApiKey, "The API key has been revoked.");
                case ApiKeyCheckStatus.Missing:
                    throw UnknownKey(keyId);
                default:
                    throw Challenge(ProblemCodes.InvalidApiKey, "The API key is not recognised.");
            }
        }

        return await ForKeyAsync(check, keyId);
    }

    /// <summary>
    /// What a valid key may do now: it acts for its owner with the owner's current plan (unless an administrator
    /// pinned one), and only while the user whose authority it carries may act: not disabled, and for an
    /// organization's key still an admin or owner there (otherwise the key is suspended, and works again if they are
    /// made one again).
    /// </summary>
    private async Task<Caller> ForKeyAsync(ApiKeyCheckOutcome check, string keyId)
    {
        var ownerId = check.OwnerId!;
        var owner = await accounts.GetAsync(ownerId);
        var isOrganization = ownerId.StartsWith(Grains.Ids.Organization + "_", StringComparison.Ordinal);
        if (!owner.Exists)
        {
            // A key acts for an owner that exists. Deleting an organization revokes its keys before its rows go (and
            // finishes after a crash), so this answers only a request that verified its key just before that: the
            // same answer as the revocation's.
            throw Challenge(ProblemCodes.RevokedApiKey, isOrganization ? "The API key's organization has been deleted." : "The API key's account no longer exists.");
        }

        var creatorId = check.CreatedBy is { } by && Grains.Ids.IsValid(by, Grains.Ids.User) ? by : null;
        var creator = creatorId is null ? null : creatorId == ownerId ? owner : await accounts.GetAsync(creatorId);
        if (!isOrganization)
        {
            ThrowIfDisabled(owner);
        }

        if (creator is not null)
        {
            ThrowIfDisabled(creator);
        }

        if (isOrganization && creatorId is not null && !owner.IsAdministrator(creatorId))
        {
            throw ApiException.Forbidden(
                "This key is suspended: the member who created it is no longer an admin or owner of the organization.");
        }

        var plan = check.Plan ?? owner.Plan;
        // An organization's key manages its keys and webhooks like an admin, but cannot change the organization.
        return isOrganization
            ? new Caller(CredentialKind.ApiKey, null, ownerId, plan, check.Scopes, ApiKeyId: keyId, OrgRole: OrgRoles.Admin,
                OwnerPlan: owner.Plan, KeyCreatedBy: creatorId ?? check.CreatedBy, KeyExpiresAt: check.ExpiresAt)
            : new Caller(CredentialKind.ApiKey, ownerId, ownerId, plan, check.Scopes, ApiKeyId: keyId, Role: owner.Role,
                OwnerPlan: owner.Plan, KeyCreatedBy: creatorId ?? check.CreatedBy, KeyExpiresAt: check.ExpiresAt);
    }

    private static void ThrowIfDisabled(AccountAccess account)
    {
        if (account.Disabled)
        {
            throw new ApiException(StatusCodes.Status403Forbidden, ProblemCodes.AccountDisabled,
                "This account is disabled; its sessions and API keys do not work. An administrator can enable it again.");
        }
    }

    private ApiException UnknownKey(string keyId)
    {
        unknown.Add(keyId);
        return Challenge(ProblemCodes.InvalidApiKey, "The API key is not recognised.");
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
