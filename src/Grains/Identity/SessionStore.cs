using System.Data.Common;
using System.Globalization;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Identity;

/// <summary>A row of <c>sessions</c>: the state of one <see cref="SessionGrain"/>.</summary>
public sealed record SessionRow(
    string Id,
    string UserId,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUsedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset MaxExpiresAt,
    DateTimeOffset? RevokedAt,
    TimeSpan Lifetime,
    string? UserAgent,
    string CurrentHash,
    IReadOnlyList<string> UsedHashes);

/// <summary>
/// The <c>sessions</c> table: each session's refresh-token family, the list behind <c>GET /v1/users/me/sessions</c>,
/// and what the purge deletes once a session has ended or expired.
/// </summary>
public sealed class SessionStore(Database database)
{
    private const string Columns =
        "id, user_id, created_at, last_used_at, expires_at, max_expires_at, revoked_at, lifetime_ms, user_agent, current_hash, used_hashes";

    public async Task<SessionRow?> LoadAsync(string id)
    {
        await using var command = database.CreateCommand($"SELECT {Columns} FROM sessions WHERE id = @id").With("id", id);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    /// <summary>Inserts or replaces the session's row.</summary>
    public async Task SaveAsync(SessionRow row)
    {
        await using var command = database.CreateCommand($"""
            INSERT INTO sessions ({Columns})
            VALUES (@id, @user_id, @created_at, @last_used_at, @expires_at, @max_expires_at, @revoked_at, @lifetime_ms, @user_agent, @current_hash, @used_hashes)
            ON CONFLICT (id) DO UPDATE SET last_used_at = excluded.last_used_at, expires_at = excluded.expires_at,
                revoked_at = excluded.revoked_at, current_hash = excluded.current_hash, used_hashes = excluded.used_hashes
            """);
        await command.With("id", row.Id).With("user_id", row.UserId)
            .With("created_at", DbTime.Micros(row.CreatedAt)).With("last_used_at", DbTime.Micros(row.LastUsedAt))
            .With("expires_at", DbTime.Micros(row.ExpiresAt)).With("max_expires_at", DbTime.Micros(row.MaxExpiresAt))
            .With("revoked_at", row.RevokedAt is { } revoked ? DbTime.Micros(revoked) : null)
            .With("lifetime_ms", (long)row.Lifetime.TotalMilliseconds).With("user_agent", row.UserAgent)
            .With("current_hash", row.CurrentHash).With("used_hashes", string.Join(',', row.UsedHashes))
            .ExecuteNonQueryAsync();
    }

    /// <summary>The ids of a user's sessions that are neither revoked nor expired.</summary>
    public async Task<IReadOnlyList<string>> ActiveIdsAsync(string userId, DateTimeOffset now)
    {
        await using var command = database.CreateCommand(
            "SELECT id FROM sessions WHERE user_id = @user_id AND revoked_at IS NULL AND expires_at > @now")
            .With("user_id", userId).With("now", DbTime.Micros(now));
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>A page of a user's active sessions, most recently used first, and their exact number.</summary>
    public async Task<SessionPage> ListAsync(string userId, DateTimeOffset now, int offset, int limit)
    {
        await using var connection = await database.OpenConnectionAsync();
        var items = new List<SessionView>();
        await using (var command = connection.Command($"""
            SELECT {Columns} FROM sessions WHERE user_id = @user_id AND revoked_at IS NULL AND expires_at > @now
            ORDER BY last_used_at DESC, id DESC LIMIT @limit OFFSET @offset
            """).With("user_id", userId).With("now", DbTime.Micros(now)).With("limit", limit).With("offset", offset))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var row = Read(reader);
                items.Add(new SessionView(row.Id, row.CreatedAt, row.LastUsedAt, row.ExpiresAt, row.UserAgent));
            }
        }

        await using var count = connection.Command(
            "SELECT COUNT(*) FROM sessions WHERE user_id = @user_id AND revoked_at IS NULL AND expires_at > @now")
            .With("user_id", userId).With("now", DbTime.Micros(now));
        return new SessionPage(items, Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
    }

    /// <summary>Deletes sessions that ended or expired before <paramref name="cutoff"/>; returns how many.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset cutoff)
    {
        await using var command = database.CreateCommand(
            "DELETE FROM sessions WHERE revoked_at < @cutoff OR expires_at < @cutoff").With("cutoff", DbTime.Micros(cutoff));
        return await command.ExecuteNonQueryAsync();
    }

    private static SessionRow Read(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), DbTime.FromMicros(r.GetInt64(2)), DbTime.FromMicros(r.GetInt64(3)),
        DbTime.FromMicros(r.GetInt64(4)), DbTime.FromMicros(r.GetInt64(5)),
        r.IsDBNull(6) ? null : DbTime.FromMicros(r.GetInt64(6)), TimeSpan.FromMilliseconds(r.GetInt64(7)),
        r.IsDBNull(8) ? null : r.GetString(8), r.GetString(9),
        r.GetString(10).Split(',', StringSplitOptions.RemoveEmptyEntries));
}
