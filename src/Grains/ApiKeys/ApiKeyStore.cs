using System.Data.Common;
using System.Globalization;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.ApiKeys;

/// <summary>
/// The <c>api_keys</c> table: one row per key (never its secret or hash), written by the key's grain after its own
/// state and rewritten when the grain activates (which repairs a row a crash left behind). It is what lists an
/// owner's keys, revoked ones included, and finds the keys a key made.
/// </summary>
public sealed class ApiKeyStore(Database database)
{
    private const string Columns =
        "id, owner_id, created_by, created_by_key, name, plan, scopes, last_four, expires_at, created_at, rolled_at, revoked_at";

    public async Task UpsertAsync(ApiKeyView key)
    {
        await using var command = database.CreateCommand($"""
            INSERT INTO api_keys ({Columns}, seq)
            VALUES (@id, @owner_id, @created_by, @created_by_key, @name, @plan, @scopes, @last_four, @expires_at, @created_at, @rolled_at, @revoked_at,
                (SELECT COALESCE(MAX(seq), 0) + 1 FROM api_keys WHERE owner_id = @owner_id))
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, plan = excluded.plan, scopes = excluded.scopes,
                last_four = excluded.last_four, expires_at = excluded.expires_at, rolled_at = excluded.rolled_at,
                revoked_at = excluded.revoked_at
            {database.Dialect.WhereChanged("api_keys", "name", "plan", "scopes", "last_four", "expires_at", "rolled_at", "revoked_at")}
            """);
        await command.With("id", key.Id).With("owner_id", key.OwnerId).With("created_by", key.CreatedBy)
            .With("created_by_key", key.CreatedByKey).With("name", key.Name).With("plan", key.Plan)
            .With("scopes", string.Join(',', key.Scopes)).With("last_four", key.LastFour)
            .With("expires_at", Micros(key.ExpiresAt)).With("created_at", DbTime.Micros(key.CreatedAt))
            .With("rolled_at", Micros(key.RolledAt)).With("revoked_at", Micros(key.RevokedAt))
            .ExecuteNonQueryAsync();
    }

    /// <summary>
    /// A page of the owner's keys, newest first, with the exact total. "Newest" is the creation order (<c>seq</c>):
    /// creates of one owner are serialized by its registry, and timestamps of two creates may be equal.
    /// </summary>
    public async Task<ApiKeyPage> ListAsync(string ownerId, DateTimeOffset now, int offset, int limit)
    {
        await using var connection = await database.OpenConnectionAsync();
        var items = new List<ApiKeyView>();
        await using (var command = connection.Command(
            $"SELECT {Columns} FROM api_keys WHERE owner_id = @owner_id ORDER BY seq DESC LIMIT @limit OFFSET @offset")
            .With("owner_id", ownerId).With("limit", limit).With("offset", offset))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                items.Add(Read(reader, now));
            }
        }

        await using var count = connection.Command("SELECT COUNT(*) FROM api_keys WHERE owner_id = @owner_id").With("owner_id", ownerId);
        return new ApiKeyPage(items, Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
    }

    /// <summary>The keys that <paramref name="keyId"/> made and that are not revoked.</summary>
    public async Task<IReadOnlyList<string>> ActiveChildrenAsync(string keyId)
    {
        await using var command = database.CreateCommand(
            "SELECT id FROM api_keys WHERE created_by_key = @key_id AND revoked_at IS NULL").With("key_id", keyId);
        return await ReadIdsAsync(command);
    }

    /// <summary>Which of <paramref name="ids"/> have a row.</summary>
    public async Task<IReadOnlySet<string>> ExistingAsync(IReadOnlyCollection<string> ids)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in ids.Chunk(100))
        {
            await using var command = database.CreateCommand();
            var names = chunk.Select((id, i) => { command.With("id" + i, id); return "@id" + i; });
            command.CommandText = $"SELECT id FROM api_keys WHERE id IN ({string.Join(", ", names)})";
            found.UnionWith(await ReadIdsAsync(command));
        }

        return found;
    }

    private static async Task<IReadOnlyList<string>> ReadIdsAsync(DbCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private static long? Micros(DateTimeOffset? value) => value is { } v ? DbTime.Micros(v) : null;

    private static DateTimeOffset? FromMicros(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DbTime.FromMicros(reader.GetInt64(ordinal));

    private static ApiKeyView Read(DbDataReader r, DateTimeOffset now)
    {
        var expiresAt = FromMicros(r, 8);
        var revokedAt = FromMicros(r, 11);
        var status = revokedAt is not null ? ApiKeyStatus.Revoked
            : expiresAt is { } e && now >= e ? ApiKeyStatus.Expired
            : ApiKeyStatus.Active;
        return new ApiKeyView(r.GetString(0), r.GetString(1), r.GetString(4), ApiKeyTokens.Prefix, r.GetString(7), r.GetString(5),
            r.GetString(6).Split(',', StringSplitOptions.RemoveEmptyEntries), expiresAt, status,
            DbTime.FromMicros(r.GetInt64(9)), FromMicros(r, 10), revokedAt, r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3));
    }
}
