namespace ApiPlatform.Gateway.Json;

/// <summary>A single object: <c>{"data": {...}}</c>.</summary>
public sealed record DataEnvelope<T>(T Data);

/// <summary>A page of a list: <c>{"data": [...], "meta": {...}}</c>.</summary>
public sealed record ListEnvelope<T>(IReadOnlyList<T> Data, PageMeta Meta);

/// <summary>Paging facts of a list response.</summary>
public sealed record PageMeta(int Page, int PerPage, long Total, long TotalPages)
{
    public static PageMeta Of(int page, int perPage, long total) =>
        new(page, perPage, total, total == 0 ? 0 : (total + perPage - 1) / perPage);
}
