using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Gateway.Http;

namespace ApiPlatform.Gateway.Endpoints;

/// <summary>
/// The query of <c>GET /v1/resources</c>: <c>page</c>/<c>per_page</c> or <c>cursor</c>, <c>sort</c>,
/// <c>filter[status]</c>, <c>filter[type]</c>, and on indexed fields of the filtered type
/// <c>filter[metadata.&lt;field&gt;]</c> with <c>[gt]</c>, <c>[gte]</c>, <c>[lt]</c>, <c>[lte]</c> or <c>[in]</c>, and
/// <c>sort=metadata.&lt;field&gt;</c>. Every parameter is validated; a bad one is 400 naming it (whether a field is
/// indexed is the type's to say, answered by the query worker).
/// </summary>
public static partial class ResourceListQuery
{
    public const string DefaultSort = "-created_at";
    private const int MaxSortKeys = 5;
    private const int MaxMetadataFilters = 10;
    private const int MaxInValues = 100;

    /// <summary>A parsed list request and the cursor binding its next page needs.</summary>
    public sealed record Parsed(ResourceQuery Query, Paging Paging, bool CursorMode, string SortText, string FilterKey);

    public static Parsed Parse(HttpRequest request, string ownerId, CursorProtector cursors)
    {
        var query = request.Query;
        var metadataFilters = new List<MetadataFilter>();
        foreach (var name in query.Keys.Where(k => k.StartsWith("filter", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            if (name is "filter[status]" or "filter[type]")
            {
                continue;
            }

            if (MetadataFilterName().Match(name) is not { Success: true } match)
            {
                throw ApiException.Invalid(name,
                    "is not a supported filter; use filter[status], filter[type], or filter[metadata.<field>] (optionally [gt], [gte], [lt], [lte], [in]) on an indexed field");
            }

            var op = match.Groups[2].Success ? match.Groups[2].Value : FilterOperators.Eq;
            if (!FilterOperators.IsValid(op))
            {
                throw ApiException.Invalid(name, "has an unknown operator; use [eq], [gt], [gte], [lt], [lte] or [in]");
            }

            var value = QueryParameters.Single(request, name)!;
            if (value.Length == 0)
            {
                throw ApiException.Invalid(name, "must not be empty");
            }

            var values = op == FilterOperators.In ? value.Split(',') : [value];
            if (values.Length > MaxInValues)
            {
                throw ApiException.Invalid(name, $"takes at most {MaxInValues} values");
            }

            metadataFilters.Add(new MetadataFilter(name, match.Groups[1].Value, op, values));
        }

        if (metadataFilters.Count > MaxMetadataFilters)
        {
            throw ApiException.Invalid(metadataFilters[^1].Parameter, $"is one too many: at most {MaxMetadataFilters} metadata filters");
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
        var filterKey = FilterKey(status, type, metadataFilters);
        var cursor = QueryParameters.Single(request, "cursor");
        var filters = metadataFilters.Count == 0 ? null : metadataFilters;
        if (cursor is null)
        {
            return new Parsed(new ResourceQuery(ownerId, status, type, sort, paging.Offset, paging.PerPage, null, filters), paging, false, sortText, filterKey);
        }

        if (query.ContainsKey("page"))
        {
            throw ApiException.Invalid("cursor", "cannot be combined with page");
        }

        var (after, gen) = DecodeCursor(cursors, cursor, sortText, filterKey, sort);
        return new Parsed(new ResourceQuery(ownerId, status, type, sort, 0, paging.PerPage, after, filters, gen), paging, true, sortText, filterKey);
    }

    public static IReadOnlyList<SortKey> ParseSort(string text)
    {
        var keys = new List<SortKey>();
        foreach (var token in text.Split(','))
        {
            var descending = token.StartsWith('-');
            var field = descending ? token[1..] : token;
            if (!ResourceSortFields.IsValid(field)
                && !(ResourceSortFields.MetadataField(field) is { } name && ResourceTypeRules.IsValidFieldName(name)))
            {
                throw ApiException.Invalid("sort", $"'{Truncate(token)}' is not sortable; use {string.Join(", ", ResourceSortFields.All)} or metadata.<indexed field>, with '-' for descending");
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
    /// An opaque cursor: the keyset of the last row seen, bound to the sort and filters it was made for (as a hash) and,
    /// for metadata sorts and filters, to the type's index generation; sealed by <see cref="CursorProtector"/> so that
    /// only cursors this service issued are read.
    /// </summary>
    public static string EncodeCursor(CursorProtector cursors, string sortText, string filterKey, long? indexGen, IReadOnlyList<string> after) =>
        cursors.Protect(JsonSerializer.SerializeToUtf8Bytes(new CursorData(sortText, filterKey, indexGen, [.. after])));

    public static (IReadOnlyList<string> After, long? Gen) DecodeCursor(
        CursorProtector cursors, string cursor, string sortText, string filterKey, IReadOnlyList<SortKey> sort)
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

        if (data.S != sortText || data.F != filterKey)
        {
            throw ApiException.Invalid("cursor", "was issued for another sort or filter; repeat the same sort and filters");
        }

        return (keys, data.G);
    }

    /// <summary>Every filter of the request in one canonical text, hashed: what a cursor is bound to.</summary>
    private static string FilterKey(string? status, string? type, IReadOnlyList<MetadataFilter> metadata)
    {
        var text = new StringBuilder().Append(status).Append('\n').Append(type);
        foreach (var f in metadata.OrderBy(f => f.Parameter, StringComparer.Ordinal))
        {
            text.Append('\n').Append(f.Parameter).Append('=').Append(string.Join('\u0001', f.Values));
        }

        return Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())), 0, 12);
    }

    private static string Truncate(string value) => value.Length > 40 ? value[..40] + "…" : value;

    [GeneratedRegex(@"^filter\[metadata\.([A-Za-z_][A-Za-z0-9_-]{0,63})\](?:\[([a-z]{1,8})\])?\z")]
    private static partial Regex MetadataFilterName();

    private sealed record CursorData(string S, string F, long? G, string[] K);
}

/// <summary>Field rules for resources.</summary>
public static class ResourceRules
{
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 2_000;
    public const int MaxTypeLength = 64;
    public const string DefaultType = "standard";
}
