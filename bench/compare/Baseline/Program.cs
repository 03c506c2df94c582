using System.Buffers;
using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

// Issue 8's comparison service: the same resources endpoints as the product, written the way a .NET team would
// without Orleans. ASP.NET Core minimal API, one NpgsqlDataSource, ONE SQL round trip per request (the API-key lookup
// is joined into the request's statement), SHA-256 of the key looked up per request, count(*) for list totals,
// autocommit INSERT (committed before 201). No cache, no rate limiter, no plan caps, no idempotency keys, no scopes:
// bench/COMPARE.md says what that leaves out. Configuration: ConnectionStrings__Baseline, ASPNETCORE_URLS.
// With ConnectionStrings__BaselineSqlite instead (issue 19), the same endpoints on one SQLite file: SqliteApi.cs.
// The list takes filter[status] and cursor (its own unsealed next_cursor, keyset on created_at, id) for issue 19's
// million rows (bench/run-million.sh), with an (owner_id, status, created_at, id) index for the filter.
var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapGet("/health", () => Results.Text("ok"));
if (builder.Configuration.GetConnectionString("BaselineSqlite") is { Length: > 0 } sqlite)
{
    await SqliteApi.MapAsync(app, sqlite);
    app.Run();
    return;
}

var connectionString = builder.Configuration.GetConnectionString("Baseline")
    ?? throw new InvalidOperationException("ConnectionStrings__Baseline (or ConnectionStrings__BaselineSqlite) is required");
await using var dataSource = NpgsqlDataSource.Create(connectionString);
await using (var schema = dataSource.CreateCommand(Sql.Schema))
{
    await schema.ExecuteNonQueryAsync();
}

app.MapGet("/v1/resources/{id}", (HttpContext context, string id) => Api.GetOneAsync(context, dataSource, id));
app.MapGet("/v1/resources", (HttpContext context) => Api.ListAsync(context, dataSource));
app.MapPost("/v1/resources", (HttpContext context) => Api.CreateAsync(context, dataSource));
app.Run();

internal static class Sql
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS baseline_keys
        (
            key_hash   bytea       PRIMARY KEY,
            owner_id   text        NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE IF NOT EXISTS baseline_resources
        (
            id          text        PRIMARY KEY,
            owner_id    text        NOT NULL,
            name        text        NOT NULL,
            description text,
            type        text        NOT NULL,
            status      text        NOT NULL,
            metadata    text        NOT NULL,
            created_at  timestamptz NOT NULL,
            updated_at  timestamptz NOT NULL,
            version     bigint      NOT NULL DEFAULT 1
        );
        CREATE INDEX IF NOT EXISTS baseline_resources_owner_created
            ON baseline_resources (owner_id, created_at DESC, id DESC);
        -- filter[status] (issue 19, item 3): the status's rows in the list's order, so a filtered page stops after the page.
        CREATE INDEX IF NOT EXISTS baseline_resources_owner_status_created
            ON baseline_resources (owner_id, status, created_at DESC, id DESC);
        -- Issue 15's query (a string field filtered, a number field sorted), indexed by hand the way a team would:
        -- an expression index on the two JSON fields the benchmark uses.
        CREATE INDEX IF NOT EXISTS baseline_resources_category_price
            ON baseline_resources (owner_id, type, (metadata::jsonb ->> 'category'), ((metadata::jsonb ->> 'price')::numeric), id);
        """;

    // $1 key hash, $2 limit, $3 offset, $4 type, $5 category: issue 15's filtered, sorted first page; exact total by count(*).
    public const string ListByCategory = $"""
        SELECT k.owner_id, c.total, {Columns}
        FROM baseline_keys k
        CROSS JOIN LATERAL (SELECT count(*) AS total FROM baseline_resources
                            WHERE owner_id = k.owner_id AND type = $4 AND metadata::jsonb ->> 'category' = $5) c
        LEFT JOIN LATERAL (SELECT * FROM baseline_resources
                           WHERE owner_id = k.owner_id AND type = $4 AND metadata::jsonb ->> 'category' = $5
                           ORDER BY (metadata::jsonb ->> 'price')::numeric, id
                           LIMIT $2 OFFSET $3) r ON true
        WHERE k.key_hash = $1
        ORDER BY (r.metadata::jsonb ->> 'price')::numeric, r.id
        """;

    private const string Columns = "r.id, r.name, r.description, r.type, r.status, r.metadata, r.created_at, r.updated_at, r.version";

    // $1 key hash, $2 id. No row: bad key (401). A row with a null id: no such resource for this owner (404).
    public const string GetOne = $"""
        SELECT k.owner_id, {Columns}
        FROM baseline_keys k
        LEFT JOIN baseline_resources r ON r.id = $2 AND r.owner_id = k.owner_id
        WHERE k.key_hash = $1
        """;

    // $1 key hash, $2 limit, $3 offset; with a status filter $4 the status; with a cursor the last row's created_at and
    // id (keyset: the rows after it in the list's order, offset 0). The exact total is count(*) over the owner's
    // (status's) rows, every call.
    public static string List(bool status, bool cursor)
    {
        var filter = status ? " AND status = $4" : "";
        var after = cursor ? $" AND (created_at, id) < (${(status ? 5 : 4)}, ${(status ? 6 : 5)})" : "";
        return $"""
            SELECT k.owner_id, c.total, {Columns}
            FROM baseline_keys k
            CROSS JOIN LATERAL (SELECT count(*) AS total FROM baseline_resources WHERE owner_id = k.owner_id{filter}) c
            LEFT JOIN LATERAL (SELECT * FROM baseline_resources
                               WHERE owner_id = k.owner_id{filter}{after}
                               ORDER BY created_at DESC, id DESC
                               LIMIT $2 OFFSET $3) r ON true
            WHERE k.key_hash = $1
            ORDER BY r.created_at DESC, r.id DESC
            """;
    }

    // $1 key hash, $2.. the row. Zero rows inserted: bad key (401). Autocommit: durable once this returns.
    public const string Create = """
        INSERT INTO baseline_resources (id, owner_id, name, description, type, status, metadata, created_at, updated_at, version)
        SELECT $2, k.owner_id, $3, $4, $5, $6, $7, $8, $8, 1 FROM baseline_keys k WHERE k.key_hash = $1
        RETURNING owner_id
        """;
}

internal static class Api
{
    internal const int MaxBody = 8192;
    internal static readonly string[] Statuses = ["active", "inactive", "archived"];

    public static async Task GetOneAsync(HttpContext context, NpgsqlDataSource db, string id)
    {
        if (KeyHash(context.Request) is not { } hash)
        {
            await ProblemAsync(context.Response, 401, "authentication_required", "Send an API key.");
            return;
        }

        await using var command = db.CreateCommand(Sql.GetOne);
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = hash });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
        if (!await reader.ReadAsync(context.RequestAborted))
        {
            await ProblemAsync(context.Response, 401, "invalid_api_key", "The API key is not valid.");
            return;
        }

        if (await reader.IsDBNullAsync(1, context.RequestAborted))
        {
            await ProblemAsync(context.Response, 404, "not_found", "The resource was not found.");
            return;
        }

        context.Response.Headers.ETag = Etag(reader.GetInt64(9));
        await WriteAsync(context.Response, 200, w =>
        {
            w.WriteStartObject();
            w.WritePropertyName("data");
            WriteResource(w, reader, 1);
            w.WriteEndObject();
        });
    }

    public static async Task ListAsync(HttpContext context, NpgsqlDataSource db)
    {
        if (KeyHash(context.Request) is not { } hash)
        {
            await ProblemAsync(context.Response, 401, "authentication_required", "Send an API key.");
            return;
        }

        if (!TryQueryInt(context.Request, "page", 1, 1, 1_000_000, out var page)
            || !TryQueryInt(context.Request, "per_page", 20, 1, 100, out var perPage))
        {
            await ProblemAsync(context.Response, 400, "validation_failed", "page and per_page must be integers in range.");
            return;
        }

        // Issue 15's query: filter[type] + filter[metadata.category] + sort=metadata.price, nothing else.
        var type = context.Request.Query["filter[type]"].ToString();
        var category = context.Request.Query["filter[metadata.category]"].ToString();
        var byCategory = type.Length > 0 || category.Length > 0 || context.Request.Query.ContainsKey("sort");
        if (byCategory && (type.Length == 0 || category.Length == 0 || context.Request.Query["sort"].ToString() != "metadata.price"))
        {
            await ProblemAsync(context.Response, 400, "validation_failed", "This service lists by filter[type] + filter[metadata.category] + sort=metadata.price only.");
            return;
        }

        // Issue 19's million rows: filter[status] and cursor paging on the default order.
        if (ReadListFilters(context.Request) is not var (status, after))
        {
            await ProblemAsync(context.Response, 400, "validation_failed", "filter[status] must be a status; cursor must be a next_cursor, without page.");
            return;
        }

        if (byCategory && (status is not null || after is not null))
        {
            await ProblemAsync(context.Response, 400, "validation_failed", "filter[status] and cursor are for the default order only.");
            return;
        }

        await using var command = db.CreateCommand(byCategory ? Sql.ListByCategory : Sql.List(status is not null, after is not null));
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = hash });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = perPage });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after is null ? (long)(page - 1) * perPage : 0 });
        if (byCategory)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = type });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = category });
        }

        if (status is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = status });
        }

        if (after is var (created, id))
        {
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = created });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        }

        await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
        if (!await WritePageAsync(context, reader, after is null ? page : null, perPage, 1))
        {
            await ProblemAsync(context.Response, 401, "invalid_api_key", "The API key is not valid.");
        }
    }

    /// <summary>
    /// <c>filter[status]</c> (null: none) and <c>cursor</c> (null: none; else the last row's created_at and id, as
    /// <see cref="WriteEnd"/> writes them); null when either is invalid or a cursor comes with <c>page</c>.
    /// </summary>
    internal static (string? Status, (DateTime Created, string Id)? After)? ReadListFilters(HttpRequest request)
    {
        var statuses = request.Query["filter[status]"];
        var cursors = request.Query["cursor"];
        if (statuses.Count > 1 || (statuses.Count == 1 && Array.IndexOf(Statuses, statuses[0]) < 0)
            || cursors.Count > 1 || (cursors.Count == 1 && request.Query.ContainsKey("page")))
        {
            return null;
        }

        if (cursors.Count == 0)
        {
            return (statuses.Count == 1 ? statuses[0] : null, null);
        }

        try
        {
            var text = cursors[0]!.Replace('-', '+').Replace('_', '/');
            using var doc = JsonDocument.Parse(Convert.FromBase64String(text.PadRight(text.Length + (4 - text.Length % 4) % 4, '=')));
            var key = doc.RootElement.GetProperty("K");
            return (statuses.Count == 1 ? statuses[0] : null,
                    (new DateTime(key[0].GetInt64(), DateTimeKind.Utc), key[1].GetString() ?? throw new FormatException("no id")));
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// Answers 200 with a list whose rows carry the total at <paramref name="totalAt"/> and the resource right after it
    /// (null columns for an owner without rows: the LEFT JOIN's lone row); false, having written nothing, for no row at all.
    /// </summary>
    internal static async Task<bool> WritePageAsync(HttpContext context, DbDataReader reader, int? page, int perPage, int totalAt)
    {
        var buffer = new ArrayBufferWriter<byte>(8192);
        long total = 0;
        var found = false;
        string? lastId = null;
        DateTime lastCreated = default;
        var rows = 0;
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("data");
            while (await reader.ReadAsync(context.RequestAborted))
            {
                found = true;
                total = reader.GetInt64(totalAt);
                if (await reader.IsDBNullAsync(totalAt + 1, context.RequestAborted))
                {
                    continue; // an owner without rows (or a page past the end): the LEFT JOIN's lone null row
                }

                WriteResource(w, reader, totalAt + 1);
                lastId = reader.GetString(totalAt + 1);
                lastCreated = Stamp(reader, totalAt + 7);
                rows++;
            }

            if (!found)
            {
                return false;
            }

            WriteEnd(w, page, perPage, total, rows == perPage ? lastId : null, lastCreated);
        }

        context.Response.Headers.CacheControl = "no-store";
        await SendAsync(context.Response, 200, buffer);
        return true;
    }

    /// <summary>
    /// Closes a list's data array and writes its meta (same shape as the product's); <paramref name="lastId"/> is null
    /// when the page was not full (no next page). In cursor mode (<paramref name="page"/> null) a full page always has a
    /// next cursor (the page after the last full one is empty): this service does not read a row more to know.
    /// </summary>
    internal static void WriteEnd(Utf8JsonWriter w, int? page, int perPage, long total, string? lastId, DateTime lastCreated)
    {
        w.WriteEndArray();
        w.WriteStartObject("meta");
        if (page is { } number)
        {
            w.WriteNumber("page", number);
        }
        else
        {
            w.WriteNull("page"); // cursor mode, as the product's
        }

        w.WriteNumber("per_page", perPage);
        w.WriteNumber("total", total);
        w.WriteNumber("total_pages", (total + perPage - 1) / perPage);
        if (lastId is not null && (page is null || (long)page * perPage < total))
        {
            // Same shape as the product's meta (not sealed: this service trusts its clients); ListAsync reads it back.
            var key = string.Create(CultureInfo.InvariantCulture, $"{{\"K\":[{lastCreated.Ticks},\"{lastId}\"]}}");
            w.WriteString("next_cursor", Convert.ToBase64String(Encoding.UTF8.GetBytes(key)).TrimEnd('=').Replace('+', '-').Replace('/', '_'));
        }
        else
        {
            w.WriteNull("next_cursor");
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static async Task CreateAsync(HttpContext context, NpgsqlDataSource db)
    {
        if (await ReadCreateAsync(context) is not (var hash, var draft, var id, var now))
        {
            return;
        }

        await using (var command = db.CreateCommand(Sql.Create))
        {
            command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = hash });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = draft.Name });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)draft.Description ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = draft.Type });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = draft.Status });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = draft.Metadata });
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now });
            if (await command.ExecuteScalarAsync(context.RequestAborted) is null)
            {
                await ProblemAsync(context.Response, 401, "invalid_api_key", "The API key is not valid.");
                return;
            }
        }

        await CreatedAsync(context.Response, id, draft, now);
    }

    /// <summary>A create's key hash, valid body, new id and time (µs precision); null once a problem is answered.</summary>
    internal static async Task<(byte[] Hash, Draft Draft, string Id, DateTime Now)?> ReadCreateAsync(HttpContext context)
    {
        if (KeyHash(context.Request) is not { } hash)
        {
            await ProblemAsync(context.Response, 401, "authentication_required", "Send an API key.");
            return null;
        }

        if (context.Request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            await ProblemAsync(context.Response, 415, "unsupported_media_type", "Send application/json.");
            return null;
        }

        if (context.Request.ContentLength > MaxBody)
        {
            await ProblemAsync(context.Response, 413, "payload_too_large", "The body is too large.");
            return null;
        }

        Draft draft;
        try
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            if (Draft.Read(doc.RootElement) is not { } valid)
            {
                await ProblemAsync(context.Response, 400, "validation_failed", "name (1-200), description (<= 2000 or null), type (1-64), status (active|inactive|archived), metadata (object).");
                return null;
            }

            draft = valid;
        }
        catch (JsonException)
        {
            await ProblemAsync(context.Response, 400, "invalid_json", "The body is not valid JSON.");
            return null;
        }

        var id = "res_" + new string(RandomNumberGenerator.GetItems<char>("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 22));
        var now = DateTime.UtcNow;
        now = new DateTime(now.Ticks - now.Ticks % 10, DateTimeKind.Utc); // both databases keep microseconds
        return (hash, draft, id, now);
    }

    /// <summary>The 201 of a committed create.</summary>
    internal static Task CreatedAsync(HttpResponse response, string id, Draft draft, DateTime now)
    {
        response.Headers.Location = "/v1/resources/" + id;
        response.Headers.ETag = Etag(1);
        var stamp = Format(now);
        return WriteAsync(response, 201, w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("data");
            w.WriteString("id", id);
            w.WriteString("name", draft.Name);
            if (draft.Description is null)
            {
                w.WriteNull("description");
            }
            else
            {
                w.WriteString("description", draft.Description);
            }

            w.WriteString("type", draft.Type);
            w.WriteString("status", draft.Status);
            w.WritePropertyName("metadata");
            w.WriteRawValue(draft.Metadata, skipInputValidation: true);
            w.WriteString("created_at", stamp);
            w.WriteString("updated_at", stamp);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    /// <summary>SHA-256 of the key from <c>x-api-key</c> or <c>Authorization: Bearer sk_…</c>; null without one.</summary>
    internal static byte[]? KeyHash(HttpRequest request)
    {
        string? key = request.Headers["x-api-key"];
        if (string.IsNullOrEmpty(key))
        {
            var auth = request.Headers.Authorization.ToString();
            if (auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                key = auth[7..].Trim();
            }
        }

        return string.IsNullOrEmpty(key) || !key.StartsWith("sk_", StringComparison.Ordinal)
            ? null
            : SHA256.HashData(Encoding.UTF8.GetBytes(key));
    }

    internal static bool TryQueryInt(HttpRequest request, string name, int fallback, int min, int max, out int value)
    {
        var values = request.Query[name];
        value = fallback;
        return values.Count == 0
            || (values.Count == 1 && int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max);
    }

    internal static void WriteResource(Utf8JsonWriter w, DbDataReader r, int o)
    {
        w.WriteStartObject();
        w.WriteString("id", r.GetString(o));
        w.WriteString("name", r.GetString(o + 1));
        if (r.IsDBNull(o + 2))
        {
            w.WriteNull("description");
        }
        else
        {
            w.WriteString("description", r.GetString(o + 2));
        }

        w.WriteString("type", r.GetString(o + 3));
        w.WriteString("status", r.GetString(o + 4));
        w.WritePropertyName("metadata");
        w.WriteRawValue(r.GetString(o + 5), skipInputValidation: true);
        w.WriteString("created_at", Format(Stamp(r, o + 6)));
        w.WriteString("updated_at", Format(Stamp(r, o + 7)));
        w.WriteEndObject();
    }

    // PostgreSQL: timestamptz; SQLite (as the product stores it there): microseconds since the epoch.
    internal static DateTime Stamp(DbDataReader r, int i) =>
        r is NpgsqlDataReader ? r.GetFieldValue<DateTime>(i) : DateTime.UnixEpoch.AddTicks(r.GetInt64(i) * 10);

    internal static string Format(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    internal static string Etag(long version) => string.Create(CultureInfo.InvariantCulture, $"\"{version}\"");

    internal static Task WriteAsync(HttpResponse response, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            write(w);
        }

        return SendAsync(response, status, buffer);
    }

    internal static async Task SendAsync(HttpResponse response, int status, ArrayBufferWriter<byte> buffer, string contentType = "application/json; charset=utf-8")
    {
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory);
    }

    internal static Task ProblemAsync(HttpResponse response, int status, string code, string detail)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", "about:blank");
            w.WriteNumber("status", status);
            w.WriteString("code", code);
            w.WriteString("detail", detail);
            w.WriteEndObject();
        }

        return SendAsync(response, status, buffer, "application/problem+json");
    }

    internal sealed record Draft(string Name, string? Description, string Type, string Status, string Metadata)
    {
        public static Draft? Read(JsonElement body)
        {
            if (body.ValueKind != JsonValueKind.Object
                || !body.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String
                || nameElement.GetString()!.Trim() is not { Length: >= 1 and <= 200 } name)
            {
                return null;
            }

            string? description = null;
            if (body.TryGetProperty("description", out var d) && d.ValueKind != JsonValueKind.Null)
            {
                if (d.ValueKind != JsonValueKind.String || d.GetString()!.Trim() is not { Length: <= 2000 } text)
                {
                    return null;
                }

                description = text;
            }

            var type = "standard";
            if (body.TryGetProperty("type", out var t))
            {
                if (t.ValueKind != JsonValueKind.String || t.GetString()!.Trim() is not { Length: >= 1 and <= 64 } text)
                {
                    return null;
                }

                type = text;
            }

            var status = "active";
            if (body.TryGetProperty("status", out var s))
            {
                if (s.ValueKind != JsonValueKind.String || Array.IndexOf(Statuses, s.GetString()) < 0)
                {
                    return null;
                }

                status = s.GetString()!;
            }

            var metadata = "{}";
            if (body.TryGetProperty("metadata", out var m) && m.ValueKind != JsonValueKind.Null)
            {
                if (m.ValueKind != JsonValueKind.Object)
                {
                    return null;
                }

                metadata = m.GetRawText();
            }

            return new Draft(name, description, type, status, metadata);
        }
    }
}
