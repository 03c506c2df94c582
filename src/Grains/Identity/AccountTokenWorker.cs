using ApiPlatform.Grains.Storage;
using Orleans.Concurrency;

namespace ApiPlatform.Grains.Identity;

/// <summary>
/// The <c>account_tokens</c> table: one row per issued token (its kind, user, email, secret hash, expiry and use).
/// </summary>
public sealed class AccountTokenStore(Database database)
{
    public async Task IssueAsync(string id, string kind, string userId, string email, string secretHash, DateTimeOffset now, DateTimeOffset expiresAt)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        // Only the newest link works: earlier unused tokens of the kind are used up.
        await using (var retire = connection.Command(
            "UPDATE account_tokens SET used_at = @now WHERE user_id = @user_id AND kind = @kind AND used_at IS NULL", transaction)
            .With("now", DbTime.Micros(now)).With("user_id", userId).With("kind", kind))
        {
            await retire.ExecuteNonQueryAsync();
        }

        await using (var insert = connection.Command("""
            INSERT INTO account_tokens (id, kind, user_id, email, secret_hash, created_at, expires_at, used_at)
            VALUES (@id, @kind, @user_id, @email, @secret_hash, @created_at, @expires_at, NULL)
            """, transaction)
            .With("id", id).With("kind", kind).With("user_id", userId).With("email", email).With("secret_hash", secretHash)
            .With("created_at", DbTime.Micros(now)).With("expires_at", DbTime.Micros(expiresAt)))
        {
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    /// <summary>
    /// Marks the token used if it is unused, unexpired and its secret matches; answers whose it was, or null. One
    /// statement, so two presentations at once cannot both succeed. (The hash comparison need not be constant-time:
    /// it compares SHA-256 digests of 256-bit secrets, which a timing leak cannot help anyone forge.)
    /// </summary>
    public async Task<(string UserId, string Email)?> ConsumeAsync(string id, string kind, string secretHash, DateTimeOffset now)
    {
        await using var command = database.CreateCommand("""
            UPDATE account_tokens SET used_at = @now
            WHERE id = @id AND kind = @kind AND secret_hash = @secret_hash AND used_at IS NULL AND expires_at > @now
            RETURNING user_id, email
            """).With("now", DbTime.Micros(now)).With("id", id).With("kind", kind).With("secret_hash", secretHash);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetString(0), reader.GetString(1)) : null;
    }

    /// <summary>Deletes tokens used or expired before <paramref name="cutoff"/>.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset cutoff)
    {
        await using var command = database.CreateCommand("DELETE FROM account_tokens WHERE used_at < @cutoff OR expires_at < @cutoff")
            .With("cutoff", DbTime.Micros(cutoff));
        return await command.ExecuteNonQueryAsync();
    }
}

/// <inheritdoc cref="IAccountTokenWorker"/>
[StatelessWorker]
[Reentrant]
public sealed class AccountTokenWorker(AccountTokenStore store, ApiClock clock) : Grain, IAccountTokenWorker
{
    public async Task<string> IssueAsync(string kind, string userId, string email, TimeSpan lifetime)
    {
        if (!AccountTokens.IsKind(kind))
        {
            throw new ArgumentException($"Unknown account token kind '{kind}'.", nameof(kind));
        }

        var id = Ids.RandomToken(22);
        var secret = Ids.RandomToken(43);
        var now = clock.UtcNow;
        await store.IssueAsync(id, kind, userId, email, SecretHash.Of(secret), now, now + lifetime);
        return $"{kind}_{id}_{secret}";
    }

    public async Task<AccountTokenClaim?> ConsumeAsync(string kind, string token)
    {
        if (!AccountTokens.TryParse(token, kind, out var id, out var secret))
        {
            return null;
        }

        return await store.ConsumeAsync(id, kind, SecretHash.Of(secret), clock.UtcNow) is { } found
            ? new AccountTokenClaim(found.UserId, found.Email)
            : null;
    }
}
