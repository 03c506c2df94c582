using System.Data.Common;
using System.Text.Json;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Idempotency;

/// <summary>A stored Idempotency-Key record.</summary>
public sealed record IdempotencyRecord(string RequestHash, StoredResponse Response, DateTimeOffset CreatedAt);

/// <summary>The <c>idempotency_keys</c> table: first responses kept for replay, purged after their retention.</summary>
public sealed class IdempotencyStore(DbDataSource dataSource)
{
    public async Task<IdempotencyRecord?> LoadAsync(string ownerId, string key)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT request_hash, status, headers, body, created_at FROM idempotency_keys WHERE owner_id = @owner_id AND key = @key");
        command.With("owner_id", ownerId);
        command.With("key", key);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return null;
        }

        var headers = JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(2)) ?? [];
        return new IdempotencyRecord(reader.GetString(0), new StoredResponse(reader.GetInt32(1), headers, reader.GetString(3)),
            ResourceStore.FromMicros(reader.GetInt64(4)));
    }

    /// <summary>Writes the record, replacing an expired one under the same key.</summary>
    public async Task SaveAsync(string ownerId, string key, IdempotencyRecord record)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO idempotency_keys (owner_id, key, request_hash, status, headers, body, created_at)
            VALUES (@owner_id, @key, @request_hash, @status, @headers, @body, @created_at)
            ON CONFLICT (owner_id, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status,
                headers = excluded.headers, body = excluded.body, created_at = excluded.created_at
            """);
        command.With("owner_id", ownerId);
        command.With("key", key);
        command.With("request_hash", record.RequestHash);
        command.With("status", record.Response.Status);
        command.With("headers", JsonSerializer.Serialize(record.Response.Headers));
        command.With("body", record.Response.Body);
        command.With("created_at", ResourceStore.Micros(record.CreatedAt));
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Deletes records created before <paramref name="cutoff"/>; returns how many.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset cutoff)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM idempotency_keys WHERE created_at < @cutoff");
        command.With("cutoff", ResourceStore.Micros(cutoff));
        return await command.ExecuteNonQueryAsync();
    }
}
