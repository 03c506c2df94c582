using Microsoft.Data.Sqlite;

/// <summary>
/// Issue 19's embedded baseline: the same endpoints (with issue 19's filter[status] and cursor) on one SQLite file (Microsoft.Data.Sqlite, pooled
/// connections, WAL as the product's embedded default uses), written the way a .NET team would: per request a pooled
/// connection, the key's SHA-256 looked up (joined into the statement where one statement does), <c>count(*)</c> for the
/// list's total, an autocommit INSERT (committed before 201). Timestamps are µs since the epoch and text compares
/// bytewise, as in the product's SQLite schema, so the same seed gives the same answers.
/// </summary>
internal static class SqliteApi
{
    private const string Schema = """
        PRAGMA journal_mode = WAL;
        CREATE TABLE IF NOT EXISTS baseline_keys (key_hash BLOB PRIMARY KEY, owner_id TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS baseline_resources
        (
            id TEXT NOT NULL PRIMARY KEY, owner_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
            type TEXT NOT NULL, status TEXT NOT NULL, metadata TEXT NOT NULL,
            created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 1
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS baseline_resources_owner_created ON baseline_resources (owner_id, created_at DESC, id DESC);
        CREATE INDEX IF NOT EXISTS baseline_resources_owner_status_created ON baseline_resources (owner_id, status, created_at DESC, id DESC);
        """;

    private const string Columns = "r.id, r.name, r.description, r.type, r.status, r.metadata, r.created_at, r.updated_at, r.version";

    private const string GetOne = $"""
        SELECT k.owner_id, {Columns}
        FROM baseline_keys k LEFT JOIN baseline_resources r ON r.id = $id AND r.owner_id = k.owner_id
        WHERE k.key_hash = $hash
        """;

    private const string Owner = "SELECT owner_id FROM baseline_keys WHERE key_hash = $hash";

    // With a status filter $status; with a cursor the last row's $created and $id (keyset, offset 0).
    private static string Page(bool status, bool cursor)
    {
        var filter = status ? " AND status = $status" : "";
        var after = cursor ? " AND (created_at, id) < ($created, $id)" : "";
        return $"""
            SELECT (SELECT count(*) FROM baseline_resources WHERE owner_id = $owner{filter}), {Columns}
            FROM (SELECT 1) LEFT JOIN (SELECT * FROM baseline_resources WHERE owner_id = $owner{filter}{after}
                                       ORDER BY created_at DESC, id DESC LIMIT $limit OFFSET $offset) r
            ORDER BY r.created_at DESC, r.id DESC
            """;
    }

    private const string Create = """
        INSERT INTO baseline_resources (id, owner_id, name, description, type, status, metadata, created_at, updated_at, version)
        SELECT $id, owner_id, $name, $description, $type, $status, $metadata, $now, $now, 1 FROM baseline_keys WHERE key_hash = $hash
        """;

    public static async Task MapAsync(WebApplication app, string connectionString)
    {
        await using (var connection = new SqliteConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var schema = new SqliteCommand(Schema, connection);
            await schema.ExecuteNonQueryAsync();
        }

        app.MapGet("/v1/resources/{id}", (HttpContext context, string id) => GetOneAsync(context, connectionString, id));
        app.MapGet("/v1/resources", (HttpContext context) => ListAsync(context, connectionString));
        app.MapPost("/v1/resources", (HttpContext context) => CreateAsync(context, connectionString));
    }

    private static async Task GetOneAsync(HttpContext context, string connectionString, string id)
    {
        if (Api.KeyHash(context.Request) is not { } hash)
        {
            await Api.ProblemAsync(context.Response, 401, "authentication_required", "Send an API key.");
            return;
        }

        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(context.RequestAborted);
        await using var command = new SqliteCommand(GetOne, connection);
        command.Parameters.AddWithValue("$hash", hash);
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
        if (!await reader.ReadAsync(context.RequestAborted))
        {
            await Api.ProblemAsync(context.Response, 401, "invalid_api_key", "The API key is not valid.");
            return;
        }

        if (reader.IsDBNull(1))
        {
            await Api.ProblemAsync(context.Response, 404, "not_found", "The resource was not found.");
            return;
        }

        context.Response.Headers.ETag = Api.Etag(reader.GetInt64(9));
        await Api.WriteAsync(context.Response, 200, w =>
        {
            w.WriteStartObject();
            w.WritePropertyName("data");
            Api.WriteResource(w, reader, 1);
            w.WriteEndObject();
        });
    }

    private static async Task ListAsync(HttpContext context, string connectionString)
    {
        if (Api.KeyHash(context.Request) is not { } hash)
        {
            await Api.ProblemAsync(context.Response, 401, "authentication_required", "Send an API key.");
            return;
        }

        if (!Api.TryQueryInt(context.Request, "page", 1, 1, 1_000_000, out var page)
            || !Api.TryQueryInt(context.Request, "per_page", 20, 1, 100, out var perPage))
        {
            await Api.ProblemAsync(context.Response, 400, "validation_failed", "page and per_page must be integers in range.");
            return;
        }

        if (Api.ReadListFilters(context.Request) is not var (status, after))
        {
            await Api.ProblemAsync(context.Response, 400, "validation_failed", "filter[status] must be a status; cursor must be a next_cursor, without page.");
            return;
        }

        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(context.RequestAborted);
        string owner;
        await using (var lookup = new SqliteCommand(Owner, connection))
        {
            lookup.Parameters.AddWithValue("$hash", hash);
            if (await lookup.ExecuteScalarAsync(context.RequestAborted) is not string found)
            {
                await Api.ProblemAsync(context.Response, 401, "invalid_api_key", "The API key is not valid.");
                return;
            }

            owner = found;
        }

        await using var command = new SqliteCommand(Page(status is not null, after is not null), connection);
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$limit", perPage);
        command.Parameters.AddWithValue("$offset", after is null ? (long)(page - 1) * perPage : 0);
        if (status is not null)
        {
            command.Parameters.AddWithValue("$status", status);
        }

        if (after is var (created, id))
        {
            command.Parameters.AddWithValue("$created", (created - DateTime.UnixEpoch).Ticks / 10);
            command.Parameters.AddWithValue("$id", id);
        }

        await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
        await Api.WritePageAsync(context, reader, after is null ? page : null, perPage, 0); // always a row: the LEFT JOIN of (SELECT 1)
    }

    private static async Task CreateAsync(HttpContext context, string connectionString)
    {
        if (await Api.ReadCreateAsync(context) is not (var hash, var draft, var id, var now))
        {
            return;
        }

        await using (var connection = new SqliteConnection(connectionString))
        {
            await connection.OpenAsync(context.RequestAborted);
            await using var command = new SqliteCommand(Create, connection);
            command.Parameters.AddWithValue("$hash", hash);
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$name", draft.Name);
            command.Parameters.AddWithValue("$description", (object?)draft.Description ?? DBNull.Value);
            command.Parameters.AddWithValue("$type", draft.Type);
            command.Parameters.AddWithValue("$status", draft.Status);
            command.Parameters.AddWithValue("$metadata", draft.Metadata);
            command.Parameters.AddWithValue("$now", (now - DateTime.UnixEpoch).Ticks / 10);
            if (await command.ExecuteNonQueryAsync(context.RequestAborted) == 0)
            {
                await Api.ProblemAsync(context.Response, 401, "invalid_api_key", "The API key is not valid.");
                return;
            }
        }

        await Api.CreatedAsync(context.Response, id, draft, now);
    }
}
