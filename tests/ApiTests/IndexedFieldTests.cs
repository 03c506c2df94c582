using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>
/// Filters and sorts on indexed metadata fields: every operator, mixed with the built-in filters and sorts, walked
/// page by page with the cursor (and by offset), each page's ids and <c>meta.total</c> checked against a brute-force
/// oracle computed here from what was created. Also: an index added to a type that already has resources.
/// </summary>
public abstract class IndexedFieldTests(ApiServer server) : ApiTestBase(server)
{
    private const string Indexes = """
        [{"field": "category", "type": "string"}, {"field": "price", "type": "number"},
         {"field": "in_stock", "type": "boolean"}, {"field": "released", "type": "timestamp"}]
        """;

    /// <summary>A created resource as the oracle sees it.</summary>
    private sealed record Row(string Id, string Name, string Type, string Status, DateTimeOffset CreatedAt, JsonObject Metadata);

    private static readonly string[] Categories = ["tools", "toys", "books", "Tools"];

    private async Task<List<Row>> SeedAsync(TestUser user, int count)
    {
        var rows = new List<Row>();
        for (var i = 0; i < count; i++)
        {
            var metadata = new JsonObject();
            if (i % 7 != 3)
            {
                metadata["category"] = Categories[i % Categories.Length];
            }

            if (i % 5 != 2)
            {
                metadata["price"] = (i * 37 % 23) - 6 + (i % 3 == 0 ? 0.5 : 0); // negatives, fractions and ties
            }
            else if (i % 10 == 7)
            {
                metadata["price"] = null;
            }

            if (i % 4 != 1)
            {
                metadata["in_stock"] = i % 3 == 0;
            }

            if (i % 6 != 5)
            {
                metadata["released"] = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero).AddHours(i * 13 % 17).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            }

            var type = i % 9 == 8 ? "other" : "item";
            var status = (i % 3) switch { 0 => "active", 1 => "inactive", _ => "archived" };
            var body = new JsonObject { ["name"] = $"n{i % 6}", ["type"] = type, ["status"] = status, ["metadata"] = metadata };
            var created = (await Client.SendAsync(HttpMethod.Post, "/v1/resources", ApiClient.JsonContent(body.ToJsonString()), user.Token))
                .AssertStatus(HttpStatusCode.Created).Data;
            rows.Add(new Row((string)created["id"]!, (string)created["name"]!, type, status,
                DateTimeOffset.Parse((string)created["created_at"]!, CultureInfo.InvariantCulture), metadata));
            if (i % 2 == 0)
            {
                Server.Time.Advance(TimeSpan.FromSeconds(1));
            }
        }

        return rows;
    }

    public static TheoryData<string, string> Queries => new()
    {
        { "", "metadata.price" },
        { "", "-metadata.price" },
        { "filter[metadata.category]=tools", "metadata.price" },
        { "filter[metadata.category][in]=toys,books", "-metadata.price,name" },
        { "filter[metadata.price][gt]=0", "metadata.category,-metadata.price" },
        { "filter[metadata.price][gte]=-2&filter[metadata.price][lt]=10.5", "-metadata.released" },
        { "filter[metadata.price][lte]=3", "metadata.price,-created_at" },
        { "filter[metadata.in_stock]=true&filter[status]=active", "-metadata.released,name" },
        { "filter[metadata.released][gte]=2030-01-01T08:00:00Z", "status,metadata.price" },
        { "filter[metadata.category]=Tools&filter[metadata.in_stock][in]=true,false", "-created_at" },
        { "filter[metadata.released][lt]=2030-01-01T05:00:00%2B00:00&filter[metadata.category][in]=tools,Tools,toys", "metadata.in_stock,metadata.released" },
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task Indexed_filters_and_sorts_page_by_cursor_with_exact_totals_as_the_oracle_says(string filters, string sort)
    {
        var user = await Client.RegisterAsync();
        (await Client.SendAsync(HttpMethod.Post, "/v1/resource-types", ApiClient.JsonContent($$"""{"name": "item", "indexes": {{Indexes}}}"""), user.Token))
            .AssertStatus(HttpStatusCode.Created);
        var rows = await SeedAsync(user, 25); // the test plan's cap
        var expected = Oracle(rows, filters, sort);
        Assert.NotEmpty(expected);

        var query = $"/v1/resources?filter[type]=item&sort={sort}" + (filters.Length == 0 ? "" : "&" + filters);
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = (await Client.GetAsync(query + "&per_page=5" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)), user.Token))
                .AssertStatus(HttpStatusCode.OK);
            Assert.Equal(expected.Count, (int?)page.Json["meta"]!["total"]);
            seen.AddRange(page.Data.AsArray().Select(r => (string)r!["id"]!));
            cursor = (string?)page.Json["meta"]!["next_cursor"];
            Assert.True(++pages <= 12, "the cursor walk does not end");
        }
        while (cursor is not null);

        Assert.Equal(expected, seen);

        var offset = (await Client.GetAsync(query + "&per_page=4&page=2", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(expected.Skip(4).Take(4), offset.Data.AsArray().Select(r => (string)r!["id"]!));
        Assert.Equal(expected.Count, (int?)offset.Json["meta"]!["total"]);
    }

    [Fact]
    public async Task An_index_added_later_covers_the_resources_written_before_it()
    {
        var user = await Client.RegisterAsync();
        (await Client.PostAsync("/v1/resource-types", new { name = "item" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        var rows = await SeedAsync(user, 22);
        // A resource written before the index with a value of another type is indexed as missing, not refused.
        var odd = (string)(await Client.PostAsync("/v1/resources", new { name = "odd", type = "item", metadata = new { price = "free" } }, user.Token)).Data["id"]!;
        (await Client.GetAsync("/v1/resources?filter[type]=item&sort=metadata.price", user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");

        var changed = (await Client.SendAsync(HttpMethod.Patch, "/v1/resource-types/item", ApiClient.JsonContent($$"""{"indexes": {{Indexes}}}"""), user.Token))
            .AssertStatus(HttpStatusCode.OK).Data;
        Assert.All(changed["indexes"]!.AsArray(), f => Assert.Contains((string)f!["status"]!, new[] { "building", "ready" }));
        await Eventually.HoldsAsync(async () =>
            (await Client.GetAsync("/v1/resource-types/item", user.Token)).Data["indexes"]!.AsArray().All(f => (string?)f!["status"] == "ready"),
            "the new indexes to be built");

        var expected = Oracle(rows, "filter[metadata.price][gte]=0", "-metadata.price");
        var page = (await Client.GetAsync("/v1/resources?filter[type]=item&filter[metadata.price][gte]=0&sort=-metadata.price&per_page=100", user.Token))
            .AssertStatus(HttpStatusCode.OK);
        Assert.Equal(expected, page.Data.AsArray().Select(r => (string)r!["id"]!));
        Assert.Equal(expected.Count, (int?)page.Json["meta"]!["total"]);
        var ascending = (await Client.GetAsync("/v1/resources?filter[type]=item&sort=metadata.price&per_page=100", user.Token)).Data.AsArray().Select(r => (string)r!["id"]!).ToList();
        Assert.Equal(rows.Count(r => r.Type == "item") + 1, ascending.Count);
        Assert.Contains(odd, ascending.TakeWhile(id => !Has(rows.FirstOrDefault(r => r.Id == id), "price")));

        // Dropping a field: it can no longer be queried; writes no longer check it.
        (await Client.PatchAsync("/v1/resource-types/item", new { indexes = new[] { new { field = "category", type = "string" } } }, user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.GetAsync("/v1/resources?filter[type]=item&sort=metadata.price", user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PostAsync("/v1/resources", new { name = "odd2", type = "item", metadata = new { price = "free", category = "tools" } }, user.Token)).AssertStatus(HttpStatusCode.Created);
        var tools = (await Client.GetAsync("/v1/resources?filter[type]=item&filter[metadata.category]=tools&per_page=100", user.Token)).AssertStatus(HttpStatusCode.OK);
        var toolIds = tools.Data.AsArray().Select(r => (string)r!["id"]!).ToList();
        Assert.Equal(rows.Count(r => r.Type == "item" && Text(r, "category") == "tools") + 1, (int?)tools.Json["meta"]!["total"]);
        Assert.Equal(toolIds.Count, (int?)tools.Json["meta"]!["total"]);

        // Totals follow changes of the value, of the status and deletes (the counters behind single-value filters).
        (await Client.PatchAsync($"/v1/resources/{toolIds[0]}", new { metadata = new { category = "toys" } }, user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.PatchAsync($"/v1/resources/{toolIds[1]}", new { status = "archived" }, user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.DeleteAsync($"/v1/resources/{toolIds[2]}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        async Task<int?> Total(string query) => (int?)(await Client.GetAsync("/v1/resources?filter[type]=item&per_page=1&" + query, user.Token)).AssertStatus(HttpStatusCode.OK).Json["meta"]!["total"];
        Assert.Equal(toolIds.Count - 2, await Total("filter[metadata.category]=tools"));
        Assert.Equal(toolIds.Count - 2, await Total("filter[metadata.category][in]=tools,nothing"));
        Assert.Equal(await Total("filter[metadata.category][gte]=tools&filter[metadata.category][lte]=tools&filter[status]=archived"),
            await Total("filter[metadata.category]=tools&filter[status]=archived"));
        Assert.Equal(await Total("filter[metadata.category][gte]=toys&filter[metadata.category][lte]=toys"), await Total("filter[metadata.category]=toys"));
    }

    [Theory]
    [InlineData("filter[metadata.color]=red", "filter[metadata.color]")]
    [InlineData("filter[metadata.price][gt]=cheap", "filter[metadata.price][gt]")]
    [InlineData("filter[metadata.in_stock]=yes", "filter[metadata.in_stock]")]
    [InlineData("filter[metadata.in_stock][gt]=true", "filter[metadata.in_stock][gt]")]
    [InlineData("filter[metadata.released]=01/02/2030", "filter[metadata.released]")]
    [InlineData("filter[metadata.price][between]=1", "filter[metadata.price][between]")]
    [InlineData("filter[metadata.price]=", "filter[metadata.price]")]
    [InlineData("filter[metadata.a.b]=1", "filter[metadata.a.b]")]
    [InlineData("sort=metadata.color", "sort")]
    [InlineData("sort=metadata.", "sort")]
    public async Task Filtering_or_sorting_on_what_is_not_indexed_is_400_naming_the_parameter(string query, string parameter)
    {
        var user = await Client.RegisterAsync();
        (await Client.SendAsync(HttpMethod.Post, "/v1/resource-types", ApiClient.JsonContent($$"""{"name": "item", "indexes": {{Indexes}}}"""), user.Token))
            .AssertStatus(HttpStatusCode.Created);
        var problem = (await Client.GetAsync("/v1/resources?filter[type]=item&" + query, user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.True(problem["errors"]![parameter] is not null, problem.ToJsonString());
    }

    [Fact]
    public async Task Metadata_filters_need_a_declared_type_and_cursors_are_bound_to_them()
    {
        var user = await Client.RegisterAsync();
        (await Client.SendAsync(HttpMethod.Post, "/v1/resource-types", ApiClient.JsonContent($$"""{"name": "item", "indexes": {{Indexes}}}"""), user.Token))
            .AssertStatus(HttpStatusCode.Created);
        Assert.NotNull((await Client.GetAsync("/v1/resources?filter[metadata.price]=1", user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["filter[metadata.price]"]);
        Assert.NotNull((await Client.GetAsync("/v1/resources?sort=metadata.price", user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["sort"]);
        Assert.NotNull((await Client.GetAsync("/v1/resources?filter[type]=nothing&filter[metadata.price]=1", user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["filter[type]"]);

        await SeedAsync(user, 8);
        var first = (await Client.GetAsync("/v1/resources?filter[type]=item&filter[metadata.price][gt]=-100&sort=metadata.price&per_page=2", user.Token)).AssertStatus(HttpStatusCode.OK);
        var cursor = Uri.EscapeDataString((string)first.Json["meta"]!["next_cursor"]!);
        (await Client.GetAsync($"/v1/resources?filter[type]=item&filter[metadata.price][gt]=-99&sort=metadata.price&per_page=2&cursor={cursor}", user.Token))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.GetAsync($"/v1/resources?filter[type]=item&filter[metadata.price][gt]=-100&sort=metadata.price&per_page=2&cursor={cursor}", user.Token))
            .AssertStatus(HttpStatusCode.OK);
        // A change of the type's indexes invalidates cursors issued before it.
        (await Client.PatchAsync("/v1/resource-types/item", new { indexes = new[] { new { field = "price", type = "number" } } }, user.Token)).AssertStatus(HttpStatusCode.OK);
        await Eventually.HoldsAsync(async () =>
            (await Client.GetAsync("/v1/resource-types/item", user.Token)).Data["indexes"]!.AsArray().All(f => (string?)f!["status"] == "ready"),
            "the changed indexes to be built");
        var stale = (await Client.GetAsync($"/v1/resources?filter[type]=item&filter[metadata.price][gt]=-100&sort=metadata.price&per_page=2&cursor={cursor}", user.Token))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.NotNull(stale["errors"]!["cursor"]);
    }

    // ------------------------------------------------------------------ the oracle

    private static bool Has(Row? row, string field) => row is not null && row.Metadata[field] is JsonValue;

    private static string? Text(Row row, string field) => row.Metadata[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>
    /// The ids a query must return, in order, computed the slow, obvious way: every resource of the owner, filtered
    /// in memory, sorted by the keys with missing values first, ties broken by id in the last key's direction.
    /// </summary>
    private static List<string> Oracle(List<Row> rows, string filters, string sort)
    {
        IEnumerable<Row> matching = rows.Where(r => r.Type == "item");
        foreach (var part in filters.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = (part[..part.IndexOf('=')], Uri.UnescapeDataString(part[(part.IndexOf('=') + 1)..]));
            if (key == "filter[status]")
            {
                matching = matching.Where(r => r.Status == value).ToList();
                continue;
            }

            var field = key["filter[metadata.".Length..key.IndexOf(']')];
            var op = key.Count(c => c == '[') == 1 ? "eq" : key[(key.LastIndexOf('[') + 1)..^1];

            var wanted = op == "in" ? value.Split(',') : [value];
            matching = matching.Where(r => Key(r, field) is { } actual && wanted.Any(w => Compare(actual, Parse(field, w)) is var c && op switch
            {
                "eq" or "in" => c == 0,
                "gt" => c > 0,
                "gte" => c >= 0,
                "lt" => c < 0,
                _ => c <= 0,
            })).ToList();
        }

        var keys = sort.Split(',').Select(k => (Field: k.TrimStart('-'), Descending: k.StartsWith('-'))).ToList();
        var list = matching.ToList();
        list.Sort((a, b) =>
        {
            foreach (var (field, descending) in keys)
            {
                var c = Compare(SortKey(a, field), SortKey(b, field));
                if (c != 0)
                {
                    return descending ? -c : c;
                }
            }

            var byId = string.CompareOrdinal(a.Id, b.Id);
            return keys[^1].Descending ? -byId : byId;
        });
        return list.Select(r => r.Id).ToList();
    }

    private static IComparable? SortKey(Row row, string field) => field switch
    {
        "name" => row.Name,
        "status" => row.Status,
        "created_at" => row.CreatedAt,
        _ => Key(row, field["metadata.".Length..]),
    };

    /// <summary>The typed value of an indexed field; null when missing (or of another type).</summary>
    private static IComparable? Key(Row row, string field)
    {
        if (row.Metadata[field] is not JsonValue value)
        {
            return null;
        }

        return field switch
        {
            "price" => value.TryGetValue<double>(out var d) ? d : null,
            "in_stock" => value.TryGetValue<bool>(out var b) ? b : null,
            "released" => value.TryGetValue<string>(out var t) ? DateTimeOffset.Parse(t, CultureInfo.InvariantCulture) : null,
            _ => value.TryGetValue<string>(out var s) ? new Ordinal(s) : null,
        };
    }

    private static IComparable Parse(string field, string text) => field switch
    {
        "price" => double.Parse(text, CultureInfo.InvariantCulture),
        "in_stock" => bool.Parse(text),
        "released" => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture),
        _ => new Ordinal(text),
    };

    /// <summary>Missing sorts before every value.</summary>
    private static int Compare(IComparable? a, IComparable? b) =>
        a is null ? (b is null ? 0 : -1) : b is null ? 1 : a.CompareTo(b);

    /// <summary>Strings compare bytewise, as the API documents.</summary>
    private sealed record Ordinal(string Value) : IComparable
    {
        public int CompareTo(object? other) => string.CompareOrdinal(Value, ((Ordinal)other!).Value);
    }
}

[Collection(Servers.Embedded)]
public sealed class IndexedFieldTestsOnEmbedded(EmbeddedServer server) : IndexedFieldTests(server);

[Collection(Servers.Postgres)]
public sealed class IndexedFieldTestsOnPostgres(PostgresServer server) : IndexedFieldTests(server);
