using System.Text.Json;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Gateway.Http;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>
/// The query of <c>GET /v1/resources</c>: <c>page</c>/<c>per_page</c> or <c>cursor</c>, <c>sort</c>,
/// <c>filter[status]</c>, <c>filter[type]</c>. Every parameter is validated; a bad one is 400 naming it.
/// </summary>
public static class ResourceListQuery
{
    public const string DefaultSort = "-created_at";
    private const int MaxSortKeys = 5;

    public static (ResourceQuery Query, Paging Paging, bool CursorMode) Parse(HttpRequest request, string ownerId, CursorProtector cursors)
    {
        var query = request.Query;
        foreach (var name in query.Keys.Where(k => k.StartsWith("filter", StringComparison.Ordinal)))
        {
            if (name is not ("filter[status]" or "filter[type]"))
            {
                throw ApiException.Invalid(name, "is not a supported filter; use filter[status] or filter[type]");
            }
        }

        var status = QueryParameters.Single(request, "filter[status]");
        if (status is not null && !ResourceStatus.IsValid(status))
        {
            throw ApiException.Invalid("filter[status]", $"must be one of: {string.Join(", ", ResourceStatus.All)}");
        }

        var type = QueryParameters.Single(request, "filter[type]");
        if (type is not null && (type.Length is 0 or > ResourceRules.MaxTypeLength))
        {
            throw ApiException.Invalid("filter[type]", $"must be 1-{ResourceRules.MaxTypeLength} characters");
        }

        var sortText = QueryParameters.Single(request, "sort") ?? DefaultSort;
        var sort = ParseSort(sortText);
        var paging = Paging.From(request);
        var cursor = QueryParameters.Single(request, "cursor");
        if (cursor is null)
        {
            return (new ResourceQuery(ownerId, status, type, sort, paging.Offset, paging.PerPage, null), paging, false);
        }

        if (query.ContainsKey("page"))
        {
            throw ApiException.Invalid("cursor", "cannot be combined with page");
        }

        var after = DecodeCursor(cursors, cursor, sortText, status, type, sort);
        return (new ResourceQuery(ownerId, status, type, sort, 0, paging.PerPage, after), paging, true);
    }

    public static IReadOnlyList<SortKey> ParseSort(string text)
    {
        var keys = new List<SortKey>();
        foreach (var token in text.Split(','))
        {
            var descending = token.StartsWith('-');
            var field = descending ? token[1..] : token;
            if (!ResourceSortFields.IsValid(field))
            {
                throw ApiException.Invalid("sort", $"'{Truncate(token)}' is not sortable; use {string.Join(", ", ResourceSortFields.All)}, with '-' for descending");
            }

            if (keys.Any(k => k.Field == field))
            {
                throw ApiException.Invalid("sort", $"names '{field}' twice");
            }

            keys.Add(new SortKey(field, descending));
        }

        if (keys.Count > MaxSortKeys)
        {
            throw ApiException.Invalid("sort", $"takes at most {MaxSortKeys} fields");
        }

        return keys;
    }

    /// <summary>
    /// An opaque cursor: the keyset of the last row seen, bound to the sort and filters it was made for, sealed by
    /// <see cref="CursorProtector"/> so that only cursors this service issued are read.
    /// </summary>
    public static string EncodeCursor(CursorProtector cursors, string sortText, string? status, string? type, IReadOnlyList<string> after) =>
        cursors.Protect(JsonSerializer.SerializeToUtf8Bytes(new CursorData(sortText, status, type, [.. after])));

    public static IReadOnlyList<string> DecodeCursor(
        CursorProtector cursors, string cursor, string sortText, string? status, string? type, IReadOnlyList<SortKey> sort)
    {
        CursorData? data = null;
        if (cursors.Unprotect(cursor) is { } payload)
        {
            try
            {
                data = JsonSerializer.Deserialize<CursorData>(payload);
            }
            catch (JsonException)
            {
                data = null;
            }
        }

        // The seal makes the checks below hold for every cursor that gets this far; they stay as a second line.
        if (data?.K is not { } keys || keys.Length != sort.Count + 1 || keys.Any(k => k is null)
            || !sort.Select((k, i) => k.Field is not ("created_at" or "updated_at") || long.TryParse(keys[i], System.Globalization.CultureInfo.InvariantCulture, out _)).All(ok => ok))
        {
            throw ApiException.Invalid("cursor", "is not a cursor this API issued; pass next_cursor from a previous page unchanged");
        }

        if (data.S != sortText || data.St != status || data.Ty != type)
        {
            throw ApiException.Invalid("cursor", "was issued for another sort or filter; repeat the same sort and filters");
        }

        return keys;
    }

    private static string Truncate(string value) => value.Length > 40 ? value[..40] + "…" : value;

    private sealed record CursorData(string S, string? St, string? Ty, string[] K);
}

/// <summary>Field rules for resources.</summary>
public static class ResourceRules
{
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 2_000;
    public const int MaxTypeLength = 64;
    public const string DefaultType = "standard";
}
