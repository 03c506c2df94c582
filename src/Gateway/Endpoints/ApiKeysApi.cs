using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Http;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.Organizations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>
/// An API key on the wire: never its secret. <c>plan</c> is the plan it runs on (its owner's, unless an administrator
/// pinned one); <c>created_by</c> the user on whose authority it acts, <c>created_by_key</c> the key that made it.
/// </summary>
public sealed record ApiKeyResponse(
    string Id, string Name, string OwnerId, string Prefix, string LastFour, string Redacted, string Plan,
    IReadOnlyList<string> Scopes, string Status, DateTimeOffset? ExpiresAt, DateTimeOffset CreatedAt,
    DateTimeOffset? RolledAt, DateTimeOffset? RevokedAt, string CreatedBy, string? CreatedByKey)
{
    public static ApiKeyResponse From(ApiKeyView k, string ownerPlan, bool suspended) =>
        new(k.Id, k.Name, k.OwnerId, k.Prefix, k.LastFour, k.Prefix + "…" + k.LastFour, k.Plan.Length > 0 ? k.Plan : ownerPlan,
            k.Scopes, suspended && k.Status == ApiKeyStatus.Active ? ApiKeysApi.Suspended : k.Status, k.ExpiresAt, k.CreatedAt,
            k.RolledAt, k.RevokedAt, k.CreatedBy, k.CreatedByKey);
}

/// <summary>An API key with its full secret, shown once: <c>key</c> (and its alias <c>secret</c>).</summary>
public sealed record ApiKeySecretResponse(
    string Id, string Name, string OwnerId, string Prefix, string LastFour, string Redacted, string Plan,
    IReadOnlyList<string> Scopes, string Status, DateTimeOffset? ExpiresAt, DateTimeOffset CreatedAt,
    DateTimeOffset? RolledAt, DateTimeOffset? RevokedAt, string CreatedBy, string? CreatedByKey, string Key, string Secret)
{
    public static ApiKeySecretResponse From(ApiKeyWithSecret created, string ownerPlan)
    {
        var k = ApiKeyResponse.From(created.Key, ownerPlan, suspended: false);
        return new(k.Id, k.Name, k.OwnerId, k.Prefix, k.LastFour, k.Redacted, k.Plan, k.Scopes, k.Status, k.ExpiresAt,
            k.CreatedAt, k.RolledAt, k.RevokedAt, k.CreatedBy, k.CreatedByKey, created.Secret, created.Secret);
    }
}

/// <summary>
/// The body of <c>POST /v1/api-keys</c>: its OpenAPI schema and, in <see cref="ReadAsync"/>, its parser. Read, it holds
/// the scopes the key gets (the defaults when none are named).
/// </summary>
public sealed record CreateApiKeyRequest(string? Name, IReadOnlyList<string>? Scopes, DateTimeOffset? ExpiresAt, string? Plan)
{
    /// <summary>
    /// Reads and checks the body for <paramref name="caller"/>: 400 naming every bad field (a key makes keys that
    /// expire no later than it does, and passes on its own scopes by default).
    /// </summary>
    public static async Task<CreateApiKeyRequest> ReadAsync(HttpRequest request, Caller caller, PlanOptions plans, DateTimeOffset now)
    {
        var byKey = caller.Kind == CredentialKind.ApiKey;
        var body = await JsonBody.ReadAsync(request);
        var name = body.String("name", minLength: 1, maxLength: 100);
        var scopes = body.StringArray("scopes", maxItems: ApiKeyScopes.All.Count);
        if (scopes is not null && (scopes.Count == 0 || scopes.Any(s => !ApiKeyScopes.IsValid(s))))
        {
            body.AddError("scopes", $"must be a non-empty list of {string.Join(", ", ApiKeyScopes.All.Select(s => $"'{s}'"))}");
            scopes = null;
        }

        var expiresAt = body.Timestamp("expires_at");
        if (expiresAt is { } e && e <= now)
        {
            body.AddError("expires_at", "must be in the future");
        }
        else if (byKey && caller.KeyExpiresAt is { } limit && expiresAt > limit)
        {
            body.AddError("expires_at", $"must not be later than the expiry of the key that creates it ({limit:O})");
        }

        var plan = Validation.Plan(body, plans);

        // A key made by a key gets its maker's scopes (less 'keys', which is only ever given by name).
        var granted = scopes?.Distinct().Order(StringComparer.Ordinal).ToList()
            ?? (byKey ? caller.Scopes.Where(s => s != ApiKeyScopes.Keys).ToList() : [.. ApiKeyScopes.Default]);
        if (granted.Count == 0)
        {
            body.AddError("scopes", "is required: the creating key holds no scope to pass on but 'keys'");
        }

        body.ThrowIfInvalid();
        return new CreateApiKeyRequest(name, granted, expiresAt, plan);
    }
}

/// <summary>
/// <c>/v1/api-keys</c>: create, list, read, revoke and roll the tenant's API keys. With an API key, all of it needs the
/// <c>keys</c> scope; a key makes only keys with a subset of its scopes that expire no later than it does.
/// </summary>
public static class ApiKeysApi
{
    /// <summary>The status of a key whose creator may no longer act (disabled, or no longer an organization admin).</summary>
    public const string Suspended = "suspended";

    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder routes)
    {
        // In an organization, keys are managed by admins and owners.
        var group = routes.MapGroup("/v1/api-keys").WithTags(ApiTags.ApiKeys).RequireCaller()
            .RequireOrganizationRole(OrgRoles.Admin)
            .WithParameter("id", "The API key's id (key_…).")
            .AddEndpointFilter(async (context, next) =>
            {
                var caller = context.HttpContext.GetCaller();
                if (caller.Kind == CredentialKind.ApiKey && !caller.HasScope(ApiKeyScopes.Keys))
                {
                    throw ApiException.Forbidden($"Managing API keys with an API key needs the '{ApiKeyScopes.Keys}' scope.");
                }

                return await next(context);
            });

        group.MapPost("/", CreateAsync)
            .Describe("createApiKey", "Create an API key",
                "Creates a key for the caller (or the organization it acts for). The answer is the only time the full secret is shown. "
                + "Scopes default to read and write; the plan's cap on active keys answers 402.")
            .WithIdempotency()
            .CarriesSecrets()
            .Accepts<CreateApiKeyRequest>("application/json")
            .Produces<DataEnvelope<ApiKeySecretResponse>>(StatusCodes.Status201Created)
            .ProducesErrors(400, 401, 402, 403, 409, 413, 415);
        group.MapGet("/", ListAsync)
            .Describe("listApiKeys", "List API keys", "The owner's keys, newest first, revoked ones included; never their secrets.")
            .Paged()
            .Produces<ListEnvelope<ApiKeyResponse>>()
            .ProducesErrors(400, 401, 403);
        group.MapGet("/{id}", GetAsync)
            .Describe("getApiKey", "Get an API key", "One of the owner's keys, without its secret. Another owner's key is 404.")
            .WithContentETag()
            .Produces<DataEnvelope<ApiKeyResponse>>()
            .ProducesErrors(401, 403, 404);
        group.MapDelete("/{id}", RevokeAsync)
            .Describe("revokeApiKey", "Revoke an API key", "The key stops working at once on every server; it stays listed as revoked.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesErrors(401, 403, 404);
        group.MapPost("/{id}/roll", RollAsync)
            .CarriesSecrets()
            .Describe("rollApiKey", "Roll an API key's secret",
                "Replaces the secret: the answer carries the new one, and the old one stops working at once. A revoked key is 409.")
            .Produces<DataEnvelope<ApiKeySecretResponse>>()
            .ProducesErrors(401, 403, 404, 409);
        return routes;
    }

    private static async Task<Created<DataEnvelope<ApiKeySecretResponse>>> CreateAsync(
        HttpContext context, GrainRefs grains, IdempotencyKeys idempotency, IOptions<PlanOptions> plans, ApiClock clock)
    {
        var caller = context.GetCaller();
        var byKey = caller.Kind == CredentialKind.ApiKey;
        var (name, granted, expiresAt, plan) = await CreateApiKeyRequest.ReadAsync(context.Request, caller, plans.Value, clock.UtcNow);

        if (byKey && granted!.Except(caller.Scopes).ToList() is { Count: > 0 } missing)
        {
            throw ApiException.Forbidden($"A key can only create keys with scopes it holds itself; it lacks {string.Join(", ", missing.Select(s => $"'{s}'"))}.");
        }

        // Only an administrator pins a plan; anyone may name the owner's own plan (the key then follows the owner's).
        var pinned = plan is not null && caller.IsAdministrator ? plan : null;
        if (plan is not null && pinned is null && plan != caller.CapPlan)
        {
            throw ApiException.Forbidden($"Only an administrator can give a key a plan other than its owner's ('{caller.CapPlan}').");
        }

        var createdBy = (byKey ? caller.KeyCreatedBy : caller.UserId) ?? caller.UserId ?? caller.ApiKeyId!;
        var request = new NewApiKey(caller.OwnerId, createdBy, name ?? "API key", pinned, granted!, expiresAt ?? (byKey ? caller.KeyExpiresAt : null),
            byKey ? caller.ApiKeyId : null);
        var keyId = idempotency.NewId(context, Ids.ApiKey, caller.OwnerId);
        var cap = plans.Value.LimitsOf(caller.CapPlan).MaxApiKeys;
        var outcome = await grains.Get<IApiKeyRegistryGrain>(caller.OwnerId).CreateAsync(keyId, request, cap);
        switch (outcome.Status)
        {
            case ApiKeyCreateStatus.PlanLimitReached:
                throw ApiException.PlanLimit($"The '{caller.CapPlan}' plan allows {cap} active API keys. Revoke one or upgrade.");
            case ApiKeyCreateStatus.OwnerDeleted:
                throw ApiException.NotFound("The organization");
        }

        return TypedResults.Created($"/v1/api-keys/{keyId}",
            new DataEnvelope<ApiKeySecretResponse>(ApiKeySecretResponse.From(outcome.Key!, caller.CapPlan)));
    }

    private static async Task<Ok<ListEnvelope<ApiKeyResponse>>> ListAsync(HttpContext context, GrainRefs grains, AccountCache accounts)
    {
        var caller = context.GetCaller();
        var paging = Paging.From(context.Request);
        var page = await grains.Get<IApiKeyRegistryGrain>(caller.OwnerId).ListAsync(paging.Offset, paging.PerPage);
        var data = new List<ApiKeyResponse>(page.Items.Count);
        foreach (var view in page.Items)
        {
            data.Add(await PresentAsync(view, caller, accounts));
        }

        return TypedResults.Ok(new ListEnvelope<ApiKeyResponse>(data, PageMeta.Of(paging.Page, paging.PerPage, page.Total)));
    }

    private static async Task<Ok<DataEnvelope<ApiKeyResponse>>> GetAsync(string id, HttpContext context, GrainRefs grains, AccountCache accounts)
    {
        var caller = context.GetCaller();
        var view = await FindAsync(grains, caller, id);
        return TypedResults.Ok(new DataEnvelope<ApiKeyResponse>(await PresentAsync(view, caller, accounts)));
    }

    /// <summary>Revokes the key, and every key it made; the registry frees their places.</summary>
    private static async Task<NoContent> RevokeAsync(string id, HttpContext context, GrainRefs grains)
    {
        var caller = context.GetCaller();
        if (!Ids.IsValid(id, Ids.ApiKey) || await grains.Get<IApiKeyRegistryGrain>(caller.OwnerId).RevokeAsync(id) is null)
        {
            throw ApiException.NotFound("The API key");
        }

        return TypedResults.NoContent();
    }

    private static async Task<Ok<DataEnvelope<ApiKeySecretResponse>>> RollAsync(string id, HttpContext context, GrainRefs grains)
    {
        var caller = context.GetCaller();
        await FindAsync(grains, caller, id);
        var outcome = await grains.Get<IApiKeyGrain>(id).RollAsync();
        return outcome.Status switch
        {
            ApiKeyRollStatus.Rolled => TypedResults.Ok(new DataEnvelope<ApiKeySecretResponse>(ApiKeySecretResponse.From(outcome.Key!, caller.CapPlan))),
            ApiKeyRollStatus.Revoked => throw ApiException.Conflict("A revoked key cannot be rolled. Create a new key."),
            _ => throw ApiException.NotFound("The API key"),
        };
    }

    /// <summary>The caller's key, or 404 — also for another tenant's key, which must look absent.</summary>
    private static async Task<ApiKeyView> FindAsync(GrainRefs grains, Caller caller, string id)
    {
        if (!Ids.IsValid(id, Ids.ApiKey))
        {
            throw ApiException.NotFound("The API key");
        }

        var view = await grains.Get<IApiKeyGrain>(id).GetAsync();
        return view is not null && view.OwnerId == caller.OwnerId ? view : throw ApiException.NotFound("The API key");
    }

    /// <summary>The key as shown: the plan it runs on, and <c>suspended</c> while its creator may not act.</summary>
    private static async Task<ApiKeyResponse> PresentAsync(ApiKeyView view, Caller caller, AccountCache accounts)
    {
        var suspended = false;
        if (view.Status == ApiKeyStatus.Active && Ids.IsValid(view.CreatedBy, Ids.User))
        {
            var creator = await accounts.GetAsync(view.CreatedBy);
            suspended = creator.Disabled
                || (caller.ActsForOrganization && !(await accounts.GetAsync(caller.OwnerId)).IsAdministrator(view.CreatedBy));
        }

        return ApiKeyResponse.From(view, caller.CapPlan, suspended);
    }
}
