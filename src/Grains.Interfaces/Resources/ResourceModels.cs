namespace ApiPlatform.Grains.Resources;

/// <summary>The values a resource's <c>status</c> may take.</summary>
public static class ResourceStatus
{
    public const string Active = "active";
    public const string Inactive = "inactive";
    public const string Archived = "archived";

    public static readonly IReadOnlyList<string> All = [Active, Inactive, Archived];

    public static bool IsValid(string? status) => status is Active or Inactive or Archived;
}

/// <summary>A resource as stored and shown. <see cref="Metadata"/> is a JSON object's text.</summary>
[GenerateSerializer, Immutable, Alias("resource-view.v1")]
public sealed record ResourceView(
    [property: Id(0)] string Id,
    [property: Id(1)] string OwnerId,
    [property: Id(2)] string Name,
    [property: Id(3)] string? Description,
    [property: Id(4)] string Type,
    [property: Id(5)] string Status,
    [property: Id(6)] string Metadata,
    [property: Id(7)] DateTimeOffset CreatedAt,
    [property: Id(8)] DateTimeOffset UpdatedAt,
    [property: Id(9)] long Version);

/// <summary>A new resource, validated by the gateway.</summary>
[GenerateSerializer, Immutable, Alias("resource-draft.v1")]
public sealed record ResourceDraft(
    [property: Id(0)] string OwnerId,
    [property: Id(1)] string Name,
    [property: Id(2)] string? Description,
    [property: Id(3)] string Type,
    [property: Id(4)] string Status,
    [property: Id(5)] string Metadata);

/// <summary>
/// A partial update. Null fields are left alone; <see cref="ClearDescription"/> sets the description to null;
/// <see cref="MetadataPatch"/> is an RFC 7396 merge patch (JSON text), or null for none. With
/// <see cref="ReplaceMetadata"/> it is the new metadata object itself (PUT).
/// </summary>
[GenerateSerializer, Immutable, Alias("resource-patch.v1")]
public sealed record ResourcePatch(
    [property: Id(0)] string? Name,
    [property: Id(1)] string? Description,
    [property: Id(2)] bool ClearDescription,
    [property: Id(3)] string? Type,
    [property: Id(4)] string? Status,
    [property: Id(5)] string? MetadataPatch,
    [property: Id(6)] bool ReplaceMetadata = false)
{
    /// <summary>A full replacement (PUT): every client-writable field takes the draft's value.</summary>
    public static ResourcePatch Replacing(ResourceDraft draft) =>
        new(draft.Name, draft.Description, draft.Description is null, draft.Type, draft.Status, draft.Metadata, ReplaceMetadata: true);
}

/// <summary>
/// What <c>If-Match</c> asked of a write: the version it must still be at (null: any), whether the header was sent at
/// all (a type may require it), and, for a header naming several tags, the versions of which it must be at one
/// (<see cref="AnyOf"/>). It travels with the write, so the grain checks it in the same turn and call.
/// </summary>
[GenerateSerializer, Immutable, Alias("resource-precondition.v1")]
public sealed record ResourcePrecondition(
    [property: Id(0)] long? ExpectedVersion,
    [property: Id(1)] bool IfMatchSent,
    [property: Id(2)] IReadOnlyList<long>? AnyOf = null)
{
    public static readonly ResourcePrecondition None = new(null, false);

    public static ResourcePrecondition At(long version) => new(version, true);

    /// <summary>If-Match naming these versions (one or several).</summary>
    public static ResourcePrecondition OneOf(IReadOnlyList<long> versions) =>
        versions.Count == 1 ? At(versions[0]) : new(null, true, versions);

    /// <summary>If-Match naming one version.</summary>
    public static implicit operator ResourcePrecondition(long version) => At(version);

    /// <summary>True when a resource at <paramref name="version"/> meets the precondition.</summary>
    public bool Admits(long version) =>
        AnyOf is { } any ? any.Contains(version) : ExpectedVersion is not { } expected || expected == version;
}

/// <summary>What a write to a resource came to.</summary>
[GenerateSerializer]
public enum ResourceWriteStatus
{
    Done,
    NotFound,
    PreconditionFailed,
    AlreadyExists,
    PlanLimitReached,

    /// <summary>The resulting resource breaks its type's rules; <see cref="ResourceWriteOutcome.Errors"/> names the fields.</summary>
    Invalid,

    /// <summary>The stored document would exceed its type's cap; <see cref="ResourceWriteOutcome.Detail"/> says by how much.</summary>
    TooLarge,

    /// <summary>The resource's type (or the configuration) requires If-Match and none was sent.</summary>
    PreconditionRequired,

    /// <summary>Too many writes are waiting for the database on this silo: nothing was written; retry shortly.</summary>
    Overloaded,
}

/// <summary>
/// Outcome of a resource write, with the resource as it now is (when there is one), the invalid fields, or a
/// sentence for the client.
/// </summary>
[GenerateSerializer, Immutable, Alias("resource-write.v1")]
public sealed record ResourceWriteOutcome(
    [property: Id(0)] ResourceWriteStatus Status,
    [property: Id(1)] ResourceView? Resource,
    [property: Id(2)] IReadOnlyDictionary<string, string[]>? Errors = null,
    [property: Id(3)] string? Detail = null)
{
    public static ResourceWriteOutcome Of(ResourceWriteStatus status) => new(status, null);

    public static ResourceWriteOutcome Invalid(IReadOnlyDictionary<string, string[]> errors) => new(ResourceWriteStatus.Invalid, null, errors);
}

/// <summary>Fields a resource list can be sorted by: these, and <c>metadata.&lt;field&gt;</c> of an indexed field.</summary>
public static class ResourceSortFields
{
    public const string MetadataPrefix = "metadata.";

    public static readonly IReadOnlyList<string> All = ["name", "type", "status", "created_at", "updated_at"];

    public static bool IsValid(string field) => All.Contains(field);

    /// <summary>The metadata field a sort or filter names (<c>metadata.price</c> → <c>price</c>), or null.</summary>
    public static string? MetadataField(string field) =>
        field.StartsWith(MetadataPrefix, StringComparison.Ordinal) && field.Length > MetadataPrefix.Length ? field[MetadataPrefix.Length..] : null;
}

/// <summary>Comparison operators of metadata filters.</summary>
public static class FilterOperators
{
    public const string Eq = "eq";
    public const string Gt = "gt";
    public const string Gte = "gte";
    public const string Lt = "lt";
    public const string Lte = "lte";
    public const string In = "in";

    public static readonly IReadOnlyList<string> All = [Eq, Gt, Gte, Lt, Lte, In];

    public static bool IsValid(string? op) => op is Eq or Gt or Gte or Lt or Lte or In;
}

/// <summary>
/// A filter on an indexed metadata field, as the client wrote it: <see cref="Parameter"/> is the query parameter
/// (named in errors), <see cref="Values"/> the raw values (several only for <see cref="FilterOperators.In"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("metadata-filter.v1")]
public sealed record MetadataFilter(
    [property: Id(0)] string Parameter,
    [property: Id(1)] string Field,
    [property: Id(2)] string Operator,
    [property: Id(3)] IReadOnlyList<string> Values);

/// <summary>One sort key: a field of <see cref="ResourceSortFields"/> and its direction.</summary>
[GenerateSerializer, Immutable, Alias("resource-sort.v1")]
public sealed record SortKey(
    [property: Id(0)] string Field,
    [property: Id(1)] bool Descending);

/// <summary>
/// A list request: owner, filters, sort, and either an offset or a keyset position (<see cref="After"/>, the sort
/// values and id of the last row already seen, as written by <see cref="ResourcePage.Next"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("resource-query.v1")]
public sealed record ResourceQuery(
    [property: Id(0)] string OwnerId,
    [property: Id(1)] string? Status,
    [property: Id(2)] string? Type,
    [property: Id(3)] IReadOnlyList<SortKey> Sort,
    [property: Id(4)] int Offset,
    [property: Id(5)] int Limit,
    [property: Id(6)] IReadOnlyList<string>? After,
    [property: Id(7)] IReadOnlyList<MetadataFilter>? MetadataFilters = null,
    [property: Id(8)] long? IndexGen = null)
{
    /// <summary>Whether the query filters or sorts on metadata fields (which need the type's indexes).</summary>
    public bool UsesMetadata =>
        MetadataFilters is { Count: > 0 } || Sort.Any(k => ResourceSortFields.MetadataField(k.Field) is not null);
}

/// <summary>One page: rows, the exact total matching the filters, and the keyset position after the last row.</summary>
[GenerateSerializer, Immutable, Alias("resource-page.v1")]
public sealed record ResourcePage(
    [property: Id(0)] IReadOnlyList<ResourceView> Items,
    [property: Id(1)] long Total,
    [property: Id(2)] IReadOnlyList<string>? Next,
    [property: Id(3)] long? IndexGen = null);

/// <summary>What a list query came to.</summary>
[GenerateSerializer]
public enum ResourceListStatus
{
    Done,

    /// <summary>A parameter cannot be served (<see cref="ResourceListOutcome.Parameter"/>): a field not indexed, a bad value.</summary>
    Invalid,

    /// <summary>A field's index is still being built after a change of the type's indexes.</summary>
    IndexBuilding,
}

/// <summary>A page, or why the query could not be run and which parameter caused it.</summary>
[GenerateSerializer, Immutable, Alias("resource-list-outcome.v1")]
public sealed record ResourceListOutcome(
    [property: Id(0)] ResourceListStatus Status,
    [property: Id(1)] ResourcePage? Page = null,
    [property: Id(2)] string? Parameter = null,
    [property: Id(3)] string? Message = null);
