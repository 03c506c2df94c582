using System.Text.Json;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Http;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Resources;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>A resource on the wire.</summary>
public sealed record ResourceResponse(
    string Id, string Name, string? Description, string Type, string Status, RawJsonObject Metadata,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ResourceResponse From(ResourceView r) =>
        new(r.Id, r.Name, r.Description, r.Type, r.Status, new RawJsonObject(r.Metadata), r.CreatedAt, r.UpdatedAt);
}

/// <summary>Paging facts of a resource list: the contract's four, plus the keyset cursor of the next page.</summary>
public sealed record ResourcePageMeta(int? Page, int PerPage, long Total, long TotalPages, string? NextCursor);

/// <summary>A page of resources.</summary>
public sealed record ResourceListEnvelope(IReadOnlyList<ResourceResponse> Data, ResourcePageMeta Meta);

// Request bodies: each record is its OpenAPI schema and holds its parser (400 naming every bad field). They are
// parsed in the handler, not bound as parameters: binding would run before the endpoint filters that authenticate.

/// <summary>The body of <c>POST /v1/resources</c>; read as a whole resource with the create defaults.</summary>
public sealed record CreateResourceRequest(string Name, string? Description, string? Type, string? Status, JsonElement? Metadata)
{
    /// <summary>The resource to create, and the body's bytes (an Idempotency-Key's retry must send the same).</summary>
    public static async Task<(ResourceDraft Draft, byte[] Raw)> ReadAsync(HttpRequest request, string ownerId)
    {
        var body = await JsonBody.ReadAsync(request);
        return (ResourcesApi.ReadDraft(body, ownerId), body.Raw);
    }
}

/// <summary>
/// The body of <c>PATCH /v1/resources/{id}</c> (JSON merge patch): absent fields stay, a null description or metadata
/// clears it, a null name, type or status is refused.
/// </summary>
public sealed record UpdateResourceRequest(string? Name, string? Description, string? Type, string? Status, JsonElement? Metadata)
{
    public static async Task<ResourcePatch> ReadAsync(HttpRequest request)
    {
        var body = await JsonBody.ReadAsync(request);
        string? name = null;
        if (body.Has("name"))
        {
            name = body.String("name", required: true, minLength: 1, maxLength: ResourceRules.MaxNameLength);
        }

        var description = body.String("description", maxLength: ResourceRules.MaxDescriptionLength);
        var clearDescription = body.IsNull("description");
        var type = ResourcesApi.ReadType(body);
        var status = ResourcesApi.ReadStatus(body);
        var metadataPatch = body.IsNull("metadata") ? "null" : ResourcesApi.ReadMetadata(body);
        body.ThrowIfInvalid();
        return new ResourcePatch(name, description, clearDescription, type, status, metadataPatch);
    }
}

/// <summary>
/// The body of <c>PUT /v1/resources/{id}</c>: a whole resource, read with the rules of a create; what it leaves out
/// takes the create defaults (no description, type <c>standard</c>, status <c>active</c>, metadata <c>{}</c>).
/// </summary>
public sealed record ReplaceResourceRequest(string Name, string? Description, string? Type, string? Status, JsonElement? Metadata)
{
    public static async Task<ResourcePatch> ReadAsync(HttpRequest request, string ownerId) =>
        ResourcePatch.Replacing(ResourcesApi.ReadDraft(await JsonBody.ReadAsync(request), ownerId));
}

/// <summary><c>/v1/resources</c>: the tenant's JSON documents.</summary>
public static class ResourcesApi
{
    public static IEndpointRouteBuilder MapResourcesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/resources").WithTags(ApiTags.Resources).RequireCaller()
            .WithParameter("id", "The resource's id (res_…).");

        group.MapPost("/", CreateAsync)
            .WithMetadata(new DocumentBodyLimitAttribute())
            .Describe("createResource", "Create a resource",
                "Stores a JSON document for the caller's tenant. Send Idempotency-Key to make retries safe. The plan's cap on "
                + "resources answers 402; the answer's ETag is the resource's version.")
            .Accepts<CreateResourceRequest>("application/json")
            .Produces<DataEnvelope<ResourceResponse>>(StatusCodes.Status201Created)
            .ProducesErrors(400, 401, 402, 403, 409, 413, 415);
        group.MapGet("/", ListAsync)
            .Describe("listResources", "List resources",
                "A page of the tenant's resources with an exact total. Offset paging (page, per_page) or keyset paging (cursor, "
                + "from meta.next_cursor); sort by one or more fields; filter by status and type.")
            .Paged()
            .WithQueryParameter<string>("cursor", "The next_cursor of the previous page (not with page); repeat the same sort and filters.")
            .WithQueryParameter<string>("sort", "Comma-separated fields (name, created_at, updated_at, status, type), '-' for descending; default -created_at.")
            .WithQueryParameter<string>("filter[status]", "Only resources with this status: active, inactive or archived.")
            .WithQueryParameter<string>("filter[type]", "Only resources of this type.")
            .Produces<ResourceListEnvelope>()
            .ProducesErrors(400, 401, 403);
        group.MapGet("/{id}", GetAsync)
            .Describe("getResource", "Get a resource", "One resource with its ETag. If-None-Match with the current ETag answers 304.")
            .Produces<DataEnvelope<ResourceResponse>>()
            .Produces(StatusCodes.Status304NotModified)
            .ProducesErrors(401, 403, 404);
        group.MapPut("/{id}", ReplaceAsync)
            .WithMetadata(new DocumentBodyLimitAttribute())
            .Describe("replaceResource", "Replace a resource",
                "Replaces the whole resource: the body is read with the rules of POST (name required), and what it leaves out takes "
                + "the create defaults (description null, type standard, status active, metadata {}). id and created_at stay. "
                + "If-Match makes it conditional (412 when it changed); a type with require_if_match needs it (428). A PUT that "
                + "changes nothing keeps the version and sends no event. An unknown id is 404: PUT never creates.")
            .Accepts<ReplaceResourceRequest>("application/json")
            .Produces<DataEnvelope<ResourceResponse>>()
            .ProducesErrors(400, 401, 403, 404, 412, 413, 415, 428);
        group.MapPatch("/{id}", UpdateAsync)
            .WithMetadata(new DocumentBodyLimitAttribute())
            .Describe("updateResource", "Update a resource",
                "Changes the fields sent; metadata is merged as a JSON merge patch (RFC 7396). If-Match makes it conditional: "
                + "412 when the resource changed meanwhile.")
            .Accepts<UpdateResourceRequest>("application/json", "application/merge-patch+json")
            .Produces<DataEnvelope<ResourceResponse>>()
            .ProducesErrors(400, 401, 403, 404, 412, 413, 415, 428);
        group.MapDelete("/{id}", DeleteAsync)
            .Describe("deleteResource", "Delete a resource", "Deletes the resource for good. If-Match makes it conditional (412 when it changed).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesErrors(401, 403, 404, 412, 428);
        return routes;
    }

    private static async Task CreateAsync(HttpContext context, GrainRefs grains, IdempotencyKeys idempotency, IOptions<PlanOptions> plans)
    {
        var caller = context.GetCaller();
        var (draft, raw) = await CreateResourceRequest.ReadAsync(context.Request, caller.OwnerId);
        var cap = plans.Value.LimitsOf(caller.CapPlan).MaxResources;
        await idempotency.RunAsync(context, caller, raw, async key =>
        {
            var id = key is null ? Ids.New(Ids.Resource) : idempotency.DeriveId(Ids.Resource, caller.OwnerId, key);
            var result = await grains.Get<IResourceCreatorWorker>(0).CreateAsync(id, draft, cap, context.RequestAborted);
            var created = result.Status switch
            {
                ResourceWriteStatus.Done => result.Resource!,
                // Only a retry of a key whose first attempt created the resource but died before recording it.
                ResourceWriteStatus.AlreadyExists when key is not null && result.Resource is not null => result.Resource,
                ResourceWriteStatus.PlanLimitReached => throw ApiException.PlanLimit(
                    $"The '{caller.CapPlan}' plan allows {cap} resources. Delete some or upgrade."),
                ResourceWriteStatus.Invalid or ResourceWriteStatus.TooLarge => throw Refusal(result),
                ResourceWriteStatus.Overloaded => throw ApiException.ServiceUnavailable(
                    "Too many creates are waiting for the database; nothing was created. Retry shortly.", TimeSpan.FromSeconds(1)),
                _ => throw new InvalidOperationException($"Creating resource {id} answered {result.Status}."),
            };
            return IdempotencyKeys.Json(StatusCodes.Status201Created, new DataEnvelope<ResourceResponse>(ResourceResponse.From(created)),
                (HeaderNames.Location, $"/v1/resources/{created.Id}"), (HeaderNames.ETag, ETags.Format(created.Version)));
        });
    }

    private static async Task<Ok<ResourceListEnvelope>> ListAsync(HttpContext context, GrainRefs grains, CursorProtector cursors)
    {
        var caller = context.GetCaller();
        var parsed = ResourceListQuery.Parse(context.Request, caller.OwnerId, cursors);
        var outcome = await grains.Get<IResourceQueryWorker>(0).ListAsync(parsed.Query);
        var page = outcome.Status switch
        {
            ResourceListStatus.Done => outcome.Page!,
            ResourceListStatus.IndexBuilding => throw new ApiException(StatusCodes.Status409Conflict, ProblemCodes.Conflict,
                $"'{outcome.Parameter}': {outcome.Message}", new Dictionary<string, string[]> { [outcome.Parameter!] = [outcome.Message!] }),
            _ => throw ApiException.Invalid(outcome.Parameter!, outcome.Message!),
        };

        var paging = parsed.Paging;
        var next = page.Next is null ? null : ResourceListQuery.EncodeCursor(cursors, parsed.SortText, parsed.FilterKey, page.IndexGen, page.Next);
        var totalPages = page.Total == 0 ? 0 : (page.Total + paging.PerPage - 1) / paging.PerPage;
        var meta = new ResourcePageMeta(parsed.CursorMode ? null : paging.Page, paging.PerPage, page.Total, totalPages, next);
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new ResourceListEnvelope(page.Items.Select(ResourceResponse.From).ToList(), meta));
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, GrainRefs grains)
    {
        var resource = await FindAsync(grains, context.GetCaller(), id);
        var etag = ETags.Format(resource.Version);
        context.Response.Headers.ETag = etag;
        var noneMatch = ETags.Parse(context.Request, HeaderNames.IfNoneMatch, out var any);
        if (any || noneMatch?.Contains(resource.Version) == true)
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Ok(new DataEnvelope<ResourceResponse>(ResourceResponse.From(resource)));
    }

    private static async Task<Ok<DataEnvelope<ResourceResponse>>> UpdateAsync(string id, HttpContext context, GrainRefs grains)
    {
        var caller = context.GetCaller();
        var grain = Grain(grains, id);
        var patch = await UpdateResourceRequest.ReadAsync(context.Request);
        var precondition = Precondition(context);
        var result = await grain.UpdateAsync(caller.OwnerId, patch, precondition);
        var resource = Written(result, precondition);
        context.Response.Headers.ETag = ETags.Format(resource.Version);
        return TypedResults.Ok(new DataEnvelope<ResourceResponse>(ResourceResponse.From(resource)));
    }

    /// <summary>PUT: the body is a whole resource (<see cref="ReplaceResourceRequest"/>).</summary>
    private static async Task<Ok<DataEnvelope<ResourceResponse>>> ReplaceAsync(string id, HttpContext context, GrainRefs grains)
    {
        var caller = context.GetCaller();
        var grain = Grain(grains, id);
        var replacement = await ReplaceResourceRequest.ReadAsync(context.Request, caller.OwnerId);
        var precondition = Precondition(context);
        var resource = Written(await grain.UpdateAsync(caller.OwnerId, replacement, precondition), precondition);
        context.Response.Headers.ETag = ETags.Format(resource.Version);
        return TypedResults.Ok(new DataEnvelope<ResourceResponse>(ResourceResponse.From(resource)));
    }

    /// <summary>A whole resource from a create or replace body; 400 naming every bad field.</summary>
    internal static ResourceDraft ReadDraft(BodyReader body, string ownerId)
    {
        var name = body.String("name", required: true, minLength: 1, maxLength: ResourceRules.MaxNameLength);
        var description = body.String("description", maxLength: ResourceRules.MaxDescriptionLength);
        var type = ReadType(body) ?? ResourceRules.DefaultType;
        var status = ReadStatus(body) ?? ResourceStatus.Active;
        var metadata = ReadMetadata(body) ?? "{}";
        body.ThrowIfInvalid();
        return new ResourceDraft(ownerId, name!, description, type, status, metadata);
    }

    private static async Task<NoContent> DeleteAsync(string id, HttpContext context, GrainRefs grains)
    {
        var caller = context.GetCaller();
        var precondition = Precondition(context);
        Written(await Grain(grains, id).DeleteAsync(caller.OwnerId, precondition), precondition);
        return TypedResults.NoContent();
    }

    private static ResourceView Written(ResourceWriteOutcome result, ResourcePrecondition precondition) => result.Status switch
    {
        ResourceWriteStatus.Done => result.Resource!,
        ResourceWriteStatus.PreconditionFailed => throw new ApiException(StatusCodes.Status412PreconditionFailed, ProblemCodes.PreconditionFailed,
            precondition.AnyOf is null
                ? $"The resource has changed: its current ETag is {ETags.Format(result.Resource!.Version)}. Fetch it again and retry."
                : $"If-Match does not name the current ETag {ETags.Format(result.Resource!.Version)}."),
        ResourceWriteStatus.PreconditionRequired => throw new ApiException(StatusCodes.Status428PreconditionRequired, ProblemCodes.PreconditionRequired,
            result.Detail ?? "If-Match is required."),
        ResourceWriteStatus.Invalid or ResourceWriteStatus.TooLarge => throw Refusal(result),
        _ => throw ApiException.NotFound("The resource"),
    };

    /// <summary>A write its type's rules refused: 400 naming the fields, or 413 for a document over its cap.</summary>
    private static ApiException Refusal(ResourceWriteOutcome result) => result.Status == ResourceWriteStatus.TooLarge
        ? new ApiException(StatusCodes.Status413PayloadTooLarge, ProblemCodes.PayloadTooLarge, result.Detail!)
        : ApiException.BadRequest(
            "Validation failed: " + string.Join("; ", result.Errors!.Select(e => $"'{e.Key}' {e.Value[0]}")) + ".", result.Errors);

    /// <summary>
    /// What <c>If-Match</c> asks, sent with the write and checked by the grain in the same turn: nothing without the
    /// header, any version with <c>*</c>, else one of the versions it names.
    /// </summary>
    private static ResourcePrecondition Precondition(HttpContext context) =>
        ETags.Parse(context.Request, HeaderNames.IfMatch, out var any) is { } versions
            ? ResourcePrecondition.OneOf(versions)
            : any ? new ResourcePrecondition(null, IfMatchSent: true) : ResourcePrecondition.None;

    private static async Task<ResourceView> FindAsync(GrainRefs grains, Caller caller, string id) =>
        Ids.IsValid(id, Ids.Resource) && await grains.Get<IResourceGrain>(id).GetAsync(caller.OwnerId) is { } resource
            ? resource
            : throw ApiException.NotFound("The resource");

    /// <summary>The resource's grain; 404 for an id that cannot name one, before the body is even read.</summary>
    private static IResourceGrain Grain(GrainRefs grains, string id) =>
        Ids.IsValid(id, Ids.Resource) ? grains.Get<IResourceGrain>(id) : throw ApiException.NotFound("The resource");

    internal static string? ReadType(BodyReader body)
    {
        if (body.IsNull("type"))
        {
            body.AddError("type", "cannot be null");
        }

        return body.String("type", minLength: 1, maxLength: ResourceRules.MaxTypeLength);
    }

    internal static string? ReadStatus(BodyReader body)
    {
        if (body.IsNull("status"))
        {
            body.AddError("status", "cannot be null");
        }

        var status = body.String("status");
        if (status is not null && !ResourceStatus.IsValid(status))
        {
            body.AddError("status", $"must be one of: {string.Join(", ", ResourceStatus.All)}");
            return null;
        }

        return status;
    }

    /// <summary>The metadata object's text; null when absent. Anything but an object is refused.</summary>
    internal static string? ReadMetadata(BodyReader body) => body.Object("metadata", "must be a JSON object") is { } metadata ? Compact(metadata.Root) : null;

    /// <summary>The object without insignificant whitespace: the stored document (and its size cap) should not depend on formatting.</summary>
    private static string Compact(JsonElement metadata)
    {
        try
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                metadata.WriteTo(writer);
            }

            return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return metadata.GetRawText(); // text the writer cannot re-encode (a lone surrogate escape) stays as sent
        }
    }
}
