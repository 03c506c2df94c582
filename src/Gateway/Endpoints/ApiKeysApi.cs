using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Http;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.Organizations;
using ApiPlatform.Grains.Users;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>An API key on the wire: never its secret.</summary>
public sealed record ApiKeyResponse(
    string Id, string Name, string OwnerId, string Prefix, string LastFour, string Redacted, string Plan,
    IReadOnlyList<string> Scopes, string Status, DateTimeOffset? ExpiresAt, DateTimeOffset CreatedAt,
    DateTimeOffset? RolledAt, DateTimeOffset? RevokedAt)
{
    public static ApiKeyResponse From(ApiKeyView k) =>
        new(k.Id, k.Name, k.OwnerId, k.Prefix, k.LastFour, k.Prefix + "…" + k.LastFour, k.Plan, k.Scopes, k.Status,
            k.ExpiresAt, k.CreatedAt, k.RolledAt, k.RevokedAt);
}

/// <summary>An API key with its full secret, shown once: <c>key</c> (and its alias <c>secret</c>).</summary>
public sealed record ApiKeySecretResponse(
    string Id, string Name, string OwnerId, string Prefix, string LastFour, string Redacted, string Plan,
    IReadOnlyList<string> Scopes, string Status, DateTimeOffset? ExpiresAt, DateTimeOffset CreatedAt,
    DateTimeOffset? RolledAt, DateTimeOffset? RevokedAt, string Key, string Secret)
{
    public static ApiKeySecretResponse From(ApiKeyWithSecret created)
    {
        var k = ApiKeyResponse.From(created.Key);
        return new(k.Id, k.Name, k.OwnerId, k.Prefix, k.LastFour, k.Redacted, k.Plan, k.Scopes, k.Status, k.ExpiresAt,
            k.CreatedAt, k.RolledAt, k.RevokedAt, created.Secret, created.Secret);
    }
}

/// <summary>Request shape of <c>POST /v1/api-keys</c>, for the OpenAPI document.</summary>
public sealed record CreateApiKeyRequest(string? Name, IReadOnlyList<string>? Scopes, DateTimeOffset? ExpiresAt, string? Plan);

/// <summary><c>/v1/api-keys</c>: create, list, read, revoke and roll the tenant's API keys.</summary>
public static class ApiKeysApi
{
    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder routes)
    {
        // In an organization, keys are managed by admins and owners.
        var group = routes.MapGroup("/v1/api-keys").WithTags(ApiTags.ApiKeys).RequireCaller()
            .RequireOrganizationRole(OrgRoles.Admin)
            .WithParameter("id", "The API key's id (key_…).");

        group.MapPost("/", CreateAsync)
            .Describe("createApiKey", "Create an API key",
                "Creates a key for the caller (or the organization it acts for). The answer is the only time the full secret is shown. "
                + "Scopes default to read and write; the plan's cap on active keys answers 402.")
            .Accepts<CreateApiKeyRequest>("application/json")
            .Produces<DataEnvelope<ApiKeySecretResponse>>(StatusCodes.Status201Created)
            .ProducesErrors(400, 401, 402, 403, 413, 415);
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
            .Describe("rollApiKey", "Roll an API key's secret",
                "Replaces the secret: the answer carries the new one, and the old one stops working at once. A revoked key is 409.")
            .Produces<DataEnvelope<ApiKeySecretResponse>>()
            .ProducesErrors(401, 403, 404, 409);
        return routes;
    }

    private static async Task<Created<DataEnvelope<ApiKeySecretResponse>>> CreateAsync(
        HttpContext context, GrainRefs grains, IOptions<PlanOptions> plans, ApiClock clock)
    {
        var caller = context.GetCaller();
        var body = await JsonBody.ReadAsync(context.Request);
        var name = body.String("name", minLength: 1, maxLength: 100) ?? "API key";
        var scopes = body.StringArray("scopes", maxItems: 2);
        if (scopes is not null && (scopes.Count == 0 || scopes.Any(s => !ApiKeyScopes.IsValid(s))))
        {
            body.AddError("scopes", "must be a non-empty list of 'read' and 'write'");
        }

        var expiresAt = body.Timestamp("expires_at");
        if (expiresAt is { } e && e <= clock.UtcNow)
        {
            body.AddError("expires_at", "must be in the future");
        }

        var plan = body.String("plan");
        if (plan is not null && !plans.Value.Exists(plan))
        {
            body.AddError("plan", $"must be one of: {string.Join(", ", plans.Value.Catalog.Keys)}");
        }

        body.ThrowIfInvalid();

        plan = plan?.ToLowerInvariant() ?? caller.CapPlan;
        if (plan != caller.CapPlan && !await IsAdminAsync(grains, caller))
        {
            throw ApiException.Forbidden($"Only an administrator can give a key a plan other than its owner's ('{caller.CapPlan}').");
        }

        var keyId = Ids.New(Ids.ApiKey);
        var registry = grains.Get<IApiKeyRegistryGrain>(caller.OwnerId);
        var cap = plans.Value.LimitsOf(caller.CapPlan).MaxApiKeys;
        if (!await registry.TryAddAsync(keyId, cap))
        {
            throw ApiException.PlanLimit($"The '{caller.CapPlan}' plan allows {cap} active API keys. Revoke one or upgrade.");
        }

        var request = new NewApiKey(caller.OwnerId, caller.UserId ?? caller.ApiKeyId!, name, plan,
            scopes?.Distinct().Order().ToList() ?? [.. ApiKeyScopes.All], expiresAt);
        ApiKeyWithSecret created;
        try
        {
            created = await grains.Get<IApiKeyGrain>(keyId).CreateAsync(request)
                ?? throw new InvalidOperationException($"Fresh key id {keyId} already in use.");
        }
        catch
        {
            await registry.RemoveAsync(keyId);
            throw;
        }

        return TypedResults.Created($"/v1/api-keys/{keyId}", new DataEnvelope<ApiKeySecretResponse>(ApiKeySecretResponse.From(created)));
    }

    private static async Task<Ok<ListEnvelope<ApiKeyResponse>>> ListAsync(HttpContext context, GrainRefs grains)
    {
        var paging = Paging.From(context.Request);
        var ids = await grains.Get<IApiKeyRegistryGrain>(context.GetCaller().OwnerId).ListAsync();
        var page = ids.Skip(paging.Offset).Take(paging.PerPage).Select(id => grains.Get<IApiKeyGrain>(id).GetAsync());
        var views = await Task.WhenAll(page);
        var data = views.OfType<ApiKeyView>().Select(ApiKeyResponse.From).ToList();
        return TypedResults.Ok(new ListEnvelope<ApiKeyResponse>(data, PageMeta.Of(paging.Page, paging.PerPage, ids.Count)));
    }

    private static async Task<Ok<DataEnvelope<ApiKeyResponse>>> GetAsync(string id, HttpContext context, GrainRefs grains)
    {
        var view = await FindAsync(grains, context.GetCaller(), id);
        return TypedResults.Ok(new DataEnvelope<ApiKeyResponse>(ApiKeyResponse.From(view)));
    }

    private static async Task<NoContent> RevokeAsync(string id, HttpContext context, GrainRefs grains)
    {
        var caller = context.GetCaller();
        await FindAsync(grains, caller, id);
        await grains.Get<IApiKeyGrain>(id).RevokeAsync();
        await grains.Get<IApiKeyRegistryGrain>(caller.OwnerId).MarkInactiveAsync(id);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<DataEnvelope<ApiKeySecretResponse>>> RollAsync(string id, HttpContext context, GrainRefs grains)
    {
        await FindAsync(grains, context.GetCaller(), id);
        var outcome = await grains.Get<IApiKeyGrain>(id).RollAsync();
        return outcome.Status switch
        {
            RollStatus.Rolled => TypedResults.Ok(new DataEnvelope<ApiKeySecretResponse>(ApiKeySecretResponse.From(outcome.Key!))),
            RollStatus.Revoked => throw ApiException.Conflict("A revoked key cannot be rolled. Create a new key."),
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

    private static async Task<bool> IsAdminAsync(GrainRefs grains, Caller caller) =>
        caller.UserId is { } userId && (await grains.Get<IUserGrain>(userId).GetAsync())?.Role == SystemRoles.Admin;
}
