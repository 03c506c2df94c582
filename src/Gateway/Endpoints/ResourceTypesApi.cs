using System.Text.Json;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Http;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains.Resources;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>An indexed field on the wire; <c>status</c> is <c>building</c> until every resource of the type is indexed.</summary>
public sealed record IndexedFieldResponse(string Field, string Type, string Status);

/// <summary>A resource type on the wire. <c>max_bytes</c> is the cap in force (the default when the type sets none).</summary>
public sealed record ResourceTypeResponse(
    string Name, RawJsonObject? Schema, int MaxBytes, bool MaxBytesIsDefault, IReadOnlyList<IndexedFieldResponse> Indexes, bool RequireIfMatch,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ResourceTypeResponse From(ResourceTypeView t, ResourceOptions options) =>
        new(t.Name, t.Schema is null ? null : new RawJsonObject(t.Schema), options.CapOf(t), t.MaxBytes is null,
            t.Indexes.OrderBy(f => f.Slot).Select(f => new IndexedFieldResponse(f.Field, f.Type, t.IsReady(f) ? "ready" : "building")).ToList(),
            t.RequireIfMatch, t.CreatedAt, t.UpdatedAt);
}

// Request bodies: each record is its OpenAPI schema and holds its parser (400 naming every bad field). They are
// parsed in the handler, not bound as parameters: binding would run before the endpoint filters that authenticate.

/// <summary>The body of <c>POST /v1/resource-types</c>; read as the type's name and its declaration with the defaults.</summary>
public sealed record CreateResourceTypeRequest(string Name, JsonElement? Schema, int? MaxBytes, IReadOnlyList<IndexSpecRequest>? Indexes, bool? RequireIfMatch)
{
    public static async Task<(string Name, ResourceTypeDraft Draft)> ReadAsync(HttpRequest request, ResourceOptions options)
    {
        var body = await JsonBody.ReadAsync(request);
        var name = body.String("name", required: true, minLength: 1, maxLength: ResourceTypeRules.MaxNameLength, trim: false);
        if (name is not null && !ResourceTypeRules.IsValidName(name))
        {
            body.AddError("name", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }

        var schema = ResourceTypesApi.ReadSchema(body);
        var maxBytes = ResourceTypesApi.ReadMaxBytes(body, options);
        var indexes = ResourceTypesApi.ReadIndexes(body) ?? [];
        var requireIfMatch = body.Boolean("require_if_match") ?? false;
        body.ThrowIfInvalid();
        return (name!, new ResourceTypeDraft(schema, maxBytes, indexes, requireIfMatch));
    }
}

/// <summary>
/// The body of <c>PATCH /v1/resource-types/{name}</c>: absent fields stay; a null schema removes it, a null max_bytes
/// restores the default, null indexes clear the list; the name cannot change and require_if_match cannot be null.
/// </summary>
public sealed record UpdateResourceTypeRequest(JsonElement? Schema, int? MaxBytes, IReadOnlyList<IndexSpecRequest>? Indexes, bool? RequireIfMatch)
{
    public static async Task<ResourceTypePatch> ReadAsync(HttpRequest request, ResourceOptions options)
    {
        var body = await JsonBody.ReadAsync(request);
        if (body.Has("name"))
        {
            body.AddError("name", "cannot be changed: create a new type and move resources to it");
        }

        var setSchema = body.Has("schema");
        var schema = ResourceTypesApi.ReadSchema(body);
        var setMaxBytes = body.Has("max_bytes");
        var maxBytes = ResourceTypesApi.ReadMaxBytes(body, options);
        var indexes = body.IsNull("indexes") ? [] : ResourceTypesApi.ReadIndexes(body);
        if (body.IsNull("require_if_match"))
        {
            body.AddError("require_if_match", "cannot be null");
        }

        var requireIfMatch = body.Boolean("require_if_match");
        body.ThrowIfInvalid();
        return new ResourceTypePatch(setSchema, schema, setMaxBytes, maxBytes, indexes, requireIfMatch);
    }
}

/// <summary>An indexed field of a resource type's declaration.</summary>
public sealed record IndexSpecRequest(string Field, string Type);

/// <summary>
/// <c>/v1/resource-types</c>: the tenant's declared resource types: a JSON Schema for <c>metadata</c>, a size cap of the
/// stored document, indexed metadata fields for filters and sorts, and whether writes need If-Match.
/// </summary>
public static class ResourceTypesApi
{
    public static IEndpointRouteBuilder MapResourceTypesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/resource-types").WithTags(ApiTags.ResourceTypes).RequireCaller()
            .WithParameter("name", "The resource type's name (the type text its resources carry).");

        group.MapPost("/", CreateAsync)
            .WithMetadata(new DocumentBodyLimitAttribute())
            .Describe("createResourceType", "Declare a resource type",
                "Declares what the tenant's resources of this type look like: schema (a JSON Schema, draft 2020-12, that every "
                + "later write's metadata must pass), max_bytes (the cap of the stored document, 1,024 up to "
                + "Resources:MaxDocumentBytesLimit), indexes (up to 5 top-level metadata fields with a value type, for filters and "
                + "sorts) and require_if_match. The name is 1-64 letters, digits, '.', '_', '-', starting with a letter or digit; "
                + "a taken name is 409, the plan's cap on resource types 402, a bad schema 400 naming the path inside it.")
            .Accepts<CreateResourceTypeRequest>("application/json")
            .Produces<DataEnvelope<ResourceTypeResponse>>(StatusCodes.Status201Created)
            .ProducesErrors(400, 401, 402, 403, 409, 413, 415);
        group.MapGet("/", ListAsync)
            .Describe("listResourceTypes", "List resource types", "A page of the tenant's declared resource types, by name, with an exact total.")
            .Paged()
            .Produces<ListEnvelope<ResourceTypeResponse>>()
            .ProducesErrors(400, 401, 403);
        group.MapGet("/{name}", GetAsync)
            .Describe("getResourceType", "Get a resource type",
                "One declared type with its weak ETag (If-None-Match with it answers 304). An indexed field's status is building "
                + "while existing resources are indexed in the background (queries on it answer 409 until it is ready). Another "
                + "tenant's type is 404.")
            .WithContentETag()
            .Produces<DataEnvelope<ResourceTypeResponse>>()
            .Produces(StatusCodes.Status304NotModified)
            .ProducesErrors(401, 403, 404);
        group.MapPatch("/{name}", UpdateAsync)
            .WithMetadata(new DocumentBodyLimitAttribute())
            .Describe("updateResourceType", "Update a resource type",
                "Changes the fields sent: schema (null removes it), max_bytes (null: the default again), indexes (replaces the "
                + "list; new or changed fields are built in the background), require_if_match. The name cannot change (400). "
                + "Changes apply to later writes; stored resources are not re-checked.")
            .Accepts<UpdateResourceTypeRequest>("application/json")
            .Produces<DataEnvelope<ResourceTypeResponse>>()
            .ProducesErrors(400, 401, 403, 404, 413, 415);
        group.MapDelete("/{name}", DeleteAsync)
            .Describe("deleteResourceType", "Delete a resource type",
                "Deletes the declaration. While any resource has the type the answer is 409 saying how many; the check and the "
                + "delete are one step, ordered against concurrent writes of the type.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesErrors(401, 403, 404, 409);
        return routes;
    }

    private static async Task<Created<DataEnvelope<ResourceTypeResponse>>> CreateAsync(
        HttpContext context, GrainRefs grains, IOptions<PlanOptions> plans, IOptions<ResourceOptions> options)
    {
        var caller = context.GetCaller();
        var (name, draft) = await CreateResourceTypeRequest.ReadAsync(context.Request, options.Value);
        var cap = plans.Value.LimitsOf(caller.CapPlan).MaxResourceTypes;
        var outcome = await Grain(grains, caller, name).CreateAsync(draft, cap);
        var created = outcome.Status switch
        {
            ResourceTypeStatus.Done => outcome.Type!,
            ResourceTypeStatus.AlreadyExists => throw ApiException.AlreadyExists("name", $"A resource type named '{name}' already exists."),
            ResourceTypeStatus.PlanLimitReached => throw ApiException.PlanLimit(
                $"The '{caller.CapPlan}' plan allows {cap} resource types. Delete one or upgrade."),
            _ => throw Invalid(outcome),
        };
        return TypedResults.Created($"/v1/resource-types/{created.Name}",
            new DataEnvelope<ResourceTypeResponse>(ResourceTypeResponse.From(created, options.Value)));
    }

    private static async Task<Ok<ListEnvelope<ResourceTypeResponse>>> ListAsync(HttpContext context, GrainRefs grains, IOptions<ResourceOptions> options)
    {
        var paging = Paging.From(context.Request);
        var page = await grains.Get<IResourceQueryWorker>(0).ListTypesAsync(context.GetCaller().OwnerId, paging.Offset, paging.PerPage);
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new ListEnvelope<ResourceTypeResponse>(page.Items.Select(t => ResourceTypeResponse.From(t, options.Value)).ToList(),
            PageMeta.Of(paging.Page, paging.PerPage, page.Total)));
    }

    private static async Task<Ok<DataEnvelope<ResourceTypeResponse>>> GetAsync(string name, HttpContext context, GrainRefs grains, IOptions<ResourceOptions> options)
    {
        var type = ResourceTypeRules.IsValidName(name) ? await Grain(grains, context.GetCaller(), name).GetAsync() : null;
        return TypedResults.Ok(new DataEnvelope<ResourceTypeResponse>(ResourceTypeResponse.From(type ?? throw NotFound(), options.Value)));
    }

    private static async Task<Ok<DataEnvelope<ResourceTypeResponse>>> UpdateAsync(string name, HttpContext context, GrainRefs grains, IOptions<ResourceOptions> options)
    {
        var caller = context.GetCaller();
        if (!ResourceTypeRules.IsValidName(name))
        {
            throw NotFound();
        }

        var patch = await UpdateResourceTypeRequest.ReadAsync(context.Request, options.Value);
        var outcome = await Grain(grains, caller, name).UpdateAsync(patch);
        var updated = outcome.Status switch
        {
            ResourceTypeStatus.Done => outcome.Type!,
            ResourceTypeStatus.NotFound => throw NotFound(),
            _ => throw Invalid(outcome),
        };
        return TypedResults.Ok(new DataEnvelope<ResourceTypeResponse>(ResourceTypeResponse.From(updated, options.Value)));
    }

    private static async Task<NoContent> DeleteAsync(string name, HttpContext context, GrainRefs grains)
    {
        if (!ResourceTypeRules.IsValidName(name))
        {
            throw NotFound();
        }

        var outcome = await Grain(grains, context.GetCaller(), name).DeleteAsync();
        return outcome.Status switch
        {
            ResourceTypeStatus.Done => TypedResults.NoContent(),
            ResourceTypeStatus.InUse => throw ApiException.Conflict(
                $"Resource type '{name}' still has {outcome.InUse} resource(s). Delete them or change their type first."),
            _ => throw NotFound(),
        };
    }

    private static IResourceTypeGrain Grain(GrainRefs grains, Caller caller, string name) =>
        grains.Get<IResourceTypeGrain>(ResourceTypeRules.Key(caller.OwnerId, name));

    private static ApiException NotFound() => ApiException.NotFound("The resource type");

    private static ApiException Invalid(ResourceTypeOutcome outcome) =>
        outcome.Errors is { Count: > 0 } errors
            ? ApiException.BadRequest("Validation failed: " + string.Join("; ", errors.Select(e => $"'{e.Key}' {e.Value[0]}")) + ".", errors)
            : throw new InvalidOperationException($"A resource type change answered {outcome.Status}.");

    /// <summary>The schema object's text; null when absent or null. Anything but an object is refused.</summary>
    internal static string? ReadSchema(BodyReader body) =>
        body.Object("schema", "must be a JSON Schema object (draft 2020-12)")?.Root.GetRawText();

    internal static int? ReadMaxBytes(BodyReader body, ResourceOptions options)
    {
        if (!body.Root.TryGetProperty("max_bytes", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var bytes)
            || bytes < ResourceOptionsValidator.MinDocumentBytes || bytes > options.MaxDocumentBytesLimit)
        {
            body.AddError("max_bytes", $"must be an integer from {ResourceOptionsValidator.MinDocumentBytes} to {options.MaxDocumentBytesLimit}");
            return null;
        }

        return bytes;
    }

    /// <summary>The indexed fields: at most five distinct top-level fields, each with a value type.</summary>
    internal static List<IndexSpec>? ReadIndexes(BodyReader body)
    {
        if (!body.Root.TryGetProperty("indexes", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            body.AddError("indexes", "must be an array of {\"field\", \"type\"}");
            return null;
        }

        if (value.GetArrayLength() > ResourceTypeRules.MaxIndexes)
        {
            body.AddError("indexes", $"takes at most {ResourceTypeRules.MaxIndexes} fields");
            return null;
        }

        var specs = new List<IndexSpec>();
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            var at = $"indexes[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                body.AddError(at, "must be an object {\"field\", \"type\"}");
                continue;
            }

            var field = item.TryGetProperty("field", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString()! : null;
            var type = item.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : null;
            if (field is null || !ResourceTypeRules.IsValidFieldName(field))
            {
                body.AddError(at + ".field", "must be a top-level metadata field: 1-64 letters, digits, '_' or '-', not starting with a digit or '-'");
                continue;
            }

            if (!IndexedFieldTypes.IsValid(type))
            {
                body.AddError(at + ".type", $"must be one of: {string.Join(", ", IndexedFieldTypes.All)}");
                continue;
            }

            if (specs.Any(s => s.Field == field))
            {
                body.AddError(at + ".field", $"'{field}' is indexed twice");
                continue;
            }

            specs.Add(new IndexSpec(field, type!));
        }

        return specs;
    }
}
