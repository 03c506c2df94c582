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
/// <see cref="MetadataPatch"/> is an RFC 7396 merge patch (JSON text), or null for none.
/// </summary>
[GenerateSerializer, Immutable, Alias("resource-patch.v1")]
public sealed record ResourcePatch(
    [property: Id(0)] string? Name,
    [property: Id(1)] string? Description,
    [property: Id(2)] bool ClearDescription,
    [property: Id(3)] string? Type,
    [property: Id(4)] string? Status,
    [property: Id(5)] string? MetadataPatch);

/// <summary>What a write to a resource came to.</summary>
[GenerateSerializer]
public enum ResourceWriteStatus
{
    Done,
    NotFound,
    PreconditionFailed,
    AlreadyExists,
    PlanLimitReached,

    /// <summary>Too many writes are waiting for the database on this silo: nothing was written; retry shortly.</summary>
    Overloaded,
}

/// <summary>Outcome of a resource write, with the resource as it now is (when there is one).</summary>
[GenerateSerializer, Immutable, Alias("resource-write.v1")]
public sealed record ResourceWriteResult(
    [property: Id(0)] ResourceWriteStatus Status,
    [property: Id(1)] ResourceView? Resource)
{
    public static ResourceWriteResult Of(ResourceWriteStatus status) => new(status, null);
}

/// <summary>Fields a resource list can be sorted by.</summary>
public static class ResourceSortFields
{
    public static readonly IReadOnlyList<string> All = ["name", "type", "status", "created_at", "updated_at"];

    public static bool IsValid(string field) => All.Contains(field);
}

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
    [property: Id(6)] IReadOnlyList<string>? After);

/// <summary>One page: rows, the exact total matching the filters, and the keyset position after the last row.</summary>
[GenerateSerializer, Immutable, Alias("resource-page.v1")]
public sealed record ResourcePage(
    [property: Id(0)] IReadOnlyList<ResourceView> Items,
    [property: Id(1)] long Total,
    [property: Id(2)] IReadOnlyList<string>? Next);
