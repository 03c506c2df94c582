using ApiPlatform.Grains.ApiKeys;

namespace ApiPlatform.Gateway.Auth;

/// <summary>How the caller proved who it is.</summary>
public enum CredentialKind
{
    AccessToken,
    ApiKey,
}

/// <summary>
/// The authenticated caller of a request: who it is (<see cref="UserId"/>, null for an organization's key), which
/// tenant it acts for (<see cref="OwnerId"/>), its plan and scopes. Role and plans are the accounts' current ones
/// (read through <see cref="AccountCache"/>), never a token's claims. <see cref="Plan"/> is what the rate limit
/// follows: the acting owner's plan, or the plan an administrator pinned on the key. For a key,
/// <see cref="KeyCreatedBy"/> is the user whose authority it carries and <see cref="KeyExpiresAt"/> its expiry: keys it
/// makes can have no more.
/// </summary>
public sealed record Caller(
    CredentialKind Kind,
    string? UserId,
    string OwnerId,
    string Plan,
    IReadOnlyList<string> Scopes,
    string? SessionId = null,
    string? ApiKeyId = null,
    string? Role = null,
    string? OrgRole = null,
    string? OwnerPlan = null,
    string? KeyCreatedBy = null,
    DateTimeOffset? KeyExpiresAt = null)
{
    /// <summary>True when the caller is a system administrator (the account's current role).</summary>
    public bool IsAdministrator => UserId is not null && Role == Grains.Users.SystemRoles.Admin;

    public bool HasScope(string scope) => Scopes.Contains(scope);

    /// <summary>True when acting for an organization (<c>X-Organization-Id</c>, or an organization's key).</summary>
    public bool ActsForOrganization => OwnerId.StartsWith(Grains.Ids.Organization + "_", StringComparison.Ordinal);

    /// <summary>The plan that caps what the owner holds: the organization's when acting for one.</summary>
    public string CapPlan => OwnerPlan ?? Plan;

    /// <summary>
    /// 403 unless the caller's organization role is at least <paramref name="needed"/>. In a user's own space the
    /// user holds every right.
    /// </summary>
    public void RequireOrgRole(string needed)
    {
        if (ActsForOrganization && !Grains.Organizations.OrgRoles.AtLeast(OrgRole, needed))
        {
            throw Errors.ApiException.Forbidden($"This needs the '{needed}' role in the organization; you are '{OrgRole}'.");
        }
    }

    /// <summary>The acting user; 403 when the credential acts for an organization rather than a user.</summary>
    public string RequireUser() =>
        UserId ?? throw Errors.ApiException.Forbidden("This credential acts for an organization, not a user.");

    public static IReadOnlyList<string> AllScopes => ApiKeyScopes.All;
}

/// <summary>Access to the request's <see cref="Caller"/>.</summary>
public static class CallerExtensions
{
    public static Caller GetCaller(this HttpContext context) =>
        context.Features.Get<Caller>() ?? throw new InvalidOperationException("The endpoint is not behind RequireCaller().");
}
