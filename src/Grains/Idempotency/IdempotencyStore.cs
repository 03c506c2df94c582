using System.Text.Json;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Idempotency;

/// <summary>
/// A stored Idempotency-Key record: the first request's fingerprint, the seed the ids it creates derive from, and —
/// once it completed — its response (null while pending).
/// </summary>
public sealed record IdempotencyRecord(string RequestHash, StoredResponse? Response, DateTimeOffset CreatedAt, string? Seed = null);

/// <summary>
/// The <c>idempotency_keys</c> table: first responses kept for replay, purged after their retention. A pending record
/// (status 0) is written before the work starts, so a crash cannot erase which request a key belongs to.
/// </summary>
public sealed class IdempotencyStore(Database database)
{
    private const int PendingStatus = 0;

    public async Task<IdempotencyRecord?> LoadAsync(string ownerId, string key)
    {
        await using var command = database.CreateCommand(
            "SELECT request_hash, status, headers, body, created_at, seed FROM idempotency_keys WHERE owner_id = @owner_id AND key = @key");
        command.With("owner_id", ownerId);
        command.With("key", key);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return null;
        }

        var status = reader.GetInt32(1);
        var response = status == PendingStatus
            ? null
            : new StoredResponse(status, JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(2)) ?? [], reader.GetString(3));
        return new IdempotencyRecord(reader.GetString(0), response, DbTime.FromMicros(reader.GetInt64(4)),
            reader.IsDBNull(5) ? null : reader.GetString(5));
    }

    /// <summary>Writes the record (pending or completed), replacing an expired one under the same key.</summary>
    public async Task SaveAsync(string ownerId, string key, IdempotencyRecord record)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO idempotency_keys (owner_id, key, request_hash, status, headers, body, created_at, seed)
            VALUES (@owner_id, @key, @request_hash, @status, @headers, @body, @created_at, @seed)
            ON CONFLICT (owner_id, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status,
                headers = excluded.headers, body = excluded.body, created_at = excluded.created_at, seed = excluded.seed
            """);
        command.With("owner_id", ownerId);
        command.With("key", key);
        command.With("request_hash", record.RequestHash);
        command.With("status", record.Response?.Status ?? PendingStatus);
        command.With("headers", JsonSerializer.Serialize(record.Response?.Headers ?? new Dictionary<string, string>()));
        command.With("body", record.Response?.Body ?? "");
        command.With("created_at", DbTime.Micros(record.CreatedAt));
        command.With("seed", record.Seed);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Forgets a pending record of this request (a refused request leaves its key free).</summary>
    public async Task DeleteAsync(string ownerId, string key, string requestHash)
    {
        await using var command = database.CreateCommand(
            "DELETE FROM idempotency_keys WHERE owner_id = @owner_id AND key = @key AND request_hash = @request_hash AND status = @pending");
        command.With("owner_id", ownerId);
        command.With("key", key);
        command.With("request_hash", requestHash);
        command.With("pending", PendingStatus);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Deletes records created before <paramref name="cutoff"/>; returns how many.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset cutoff)
    {
        await using var command = database.CreateCommand("DELETE FROM idempotency_keys WHERE created_at < @cutoff");
        command.With("cutoff", DbTime.Micros(cutoff));
        return await command.ExecuteNonQueryAsync();
    }
}
