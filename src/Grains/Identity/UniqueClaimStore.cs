using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Identity;

/// <summary>
/// The <c>unique_claims</c> table: the database's word on who holds a unique value. Every change is one conditional
/// statement, so the primary key decides between two writers that each believe they may claim (the uniqueness grain's
/// in-memory view is the fast path; this is the last guard).
/// </summary>
public sealed class UniqueClaimStore(Database database)
{
    /// <summary>
    /// Claims <paramref name="key"/> for <paramref name="ownerId"/> when nobody holds it, the owner already does, or the
    /// holder's claim is unconfirmed and made at or before <paramref name="staleBefore"/>. True when the owner holds it now.
    /// </summary>
    public async Task<bool> ClaimAsync(string key, string ownerId, DateTimeOffset now, DateTimeOffset staleBefore)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO unique_claims (claim_key, owner_id, confirmed, claimed_at) VALUES (@key, @owner_id, 0, @now)
            ON CONFLICT (claim_key) DO UPDATE SET
                confirmed = CASE WHEN unique_claims.owner_id = excluded.owner_id THEN unique_claims.confirmed ELSE 0 END,
                claimed_at = CASE WHEN unique_claims.owner_id = excluded.owner_id THEN unique_claims.claimed_at ELSE excluded.claimed_at END,
                owner_id = excluded.owner_id
            WHERE unique_claims.owner_id = excluded.owner_id OR (unique_claims.confirmed = 0 AND unique_claims.claimed_at <= @stale)
            RETURNING owner_id
            """);
        command.With("key", key).With("owner_id", ownerId).With("now", DbTime.Micros(now)).With("stale", DbTime.Micros(staleBefore));
        return await command.ExecuteScalarAsync() is string owner && owner == ownerId;
    }

    /// <summary>Writes a claim the grain already holds (state from before this table existed); keeps any row there is.</summary>
    public async Task BackfillAsync(string key, string ownerId, bool confirmed, DateTimeOffset claimedAt)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO unique_claims (claim_key, owner_id, confirmed, claimed_at) VALUES (@key, @owner_id, @confirmed, @claimed_at)
            ON CONFLICT (claim_key) DO NOTHING
            """);
        await command.With("key", key).With("owner_id", ownerId).With("confirmed", confirmed ? 1 : 0)
            .With("claimed_at", DbTime.Micros(claimedAt)).ExecuteNonQueryAsync();
    }

    public async Task ConfirmAsync(string key, string ownerId)
    {
        await using var command = database.CreateCommand("UPDATE unique_claims SET confirmed = 1 WHERE claim_key = @key AND owner_id = @owner_id");
        await command.With("key", key).With("owner_id", ownerId).ExecuteNonQueryAsync();
    }

    public async Task ReleaseAsync(string key, string ownerId)
    {
        await using var command = database.CreateCommand("DELETE FROM unique_claims WHERE claim_key = @key AND owner_id = @owner_id");
        await command.With("key", key).With("owner_id", ownerId).ExecuteNonQueryAsync();
    }

    /// <summary>The holder of <paramref name="key"/> and whether its claim is confirmed, or null.</summary>
    public async Task<(string OwnerId, bool Confirmed, DateTimeOffset ClaimedAt)?> GetAsync(string key)
    {
        await using var command = database.CreateCommand("SELECT owner_id, confirmed, claimed_at FROM unique_claims WHERE claim_key = @key");
        command.With("key", key);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? (reader.GetString(0), Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture) == 1, DbTime.FromMicros(reader.GetInt64(2)))
            : null;
    }
}
