using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Grains.Storage;
using Npgsql;

namespace ApiPlatform.Grains.Webhooks;

/// <summary>A <c>webhooks</c> row.</summary>
public sealed record WebhookRow(
    string Id, string OwnerId, string Url, IReadOnlyList<string> Events, string? Description, string Secret,
    string? PreviousSecret, DateTimeOffset? PreviousSecretExpiresAt, bool Enabled, string? DisabledReason,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long Version)
{
    public WebhookView View() => new(Id, OwnerId, Url, Events, Description, Enabled, DisabledReason,
        Secret[..Math.Min(Secret.Length, 10)], CreatedAt, UpdatedAt);
}

/// <summary>A delivery claimed by a worker, with what it needs to sign and send it.</summary>
public sealed record ClaimedDelivery(
    string Id, string WebhookId, string EventId, string Payload, int Attempts,
    string Url, string Secret, string? PreviousSecret, DateTimeOffset? PreviousSecretExpiresAt);

/// <summary>
/// The <c>webhooks</c>, <c>events_outbox</c> and <c>webhook_deliveries</c> tables: webhook management, the relay from
/// the outbox to deliveries, and the delivery worker's claims and results.
/// </summary>
public sealed class WebhookStore(DbDataSource dataSource, SqlDialect dialect)
{
    private const string WebhookColumns = "id, owner_id, url, events, description, secret, previous_secret, previous_secret_expires_at, "
        + "enabled, disabled_reason, created_at, updated_at, version";

    private const string DeliveryColumns = "id, webhook_id, event_id, event_type, status, attempts, last_status_code, last_error, "
        + "next_attempt_at, created_at, updated_at";

    private string SkipLocked => dialect == SqlDialect.Postgres ? " FOR UPDATE SKIP LOCKED" : "";

    /// <summary>Inserts the webhook unless the owner holds <paramref name="cap"/> already (exact: advisory lock on PostgreSQL).</summary>
    public async Task<bool> InsertAsync(WebhookRow row, long cap)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (dialect == SqlDialect.Postgres)
        {
            await using var lockCommand = connection.Command("SELECT pg_advisory_xact_lock(hashtextextended('webhooks:' || @owner_id, 0))", transaction)
                .With("owner_id", row.OwnerId);
            await lockCommand.ExecuteNonQueryAsync();
        }

        await using var command = connection.Command($"""
            INSERT INTO webhooks ({WebhookColumns})
            SELECT @id, @owner_id, @url, @events, @description, @secret, @previous_secret, @previous_secret_expires_at,
                   @enabled, @disabled_reason, @created_at, @updated_at, @version
            WHERE (SELECT COUNT(*) FROM webhooks WHERE owner_id = @owner_id) < @cap
            """, transaction);
        var inserted = await Bind(command, row).With("cap", cap).ExecuteNonQueryAsync() == 1;
        await transaction.CommitAsync();
        return inserted;
    }

    public async Task<WebhookRow?> LoadAsync(string ownerId, string id)
    {
        await using var command = dataSource.CreateCommand($"SELECT {WebhookColumns} FROM webhooks WHERE id = @id AND owner_id = @owner_id");
        await using var reader = await command.With("id", id).With("owner_id", ownerId).ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadWebhook(reader) : null;
    }

    public async Task<(List<WebhookRow> Items, long Total)> ListAsync(string ownerId, int offset, int limit)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        var items = new List<WebhookRow>();
        await using (var command = connection.Command(
            $"SELECT {WebhookColumns} FROM webhooks WHERE owner_id = @owner_id ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset")
            .With("owner_id", ownerId).With("limit", limit).With("offset", offset))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                items.Add(ReadWebhook(reader));
            }
        }

        await using var count = connection.Command("SELECT COUNT(*) FROM webhooks WHERE owner_id = @owner_id").With("owner_id", ownerId);
        return (items, Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
    }

    /// <summary>Replaces the row if it is still at <paramref name="expectedVersion"/>; false otherwise.</summary>
    public async Task<bool> UpdateAsync(WebhookRow row, long expectedVersion)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE webhooks SET url = @url, events = @events, description = @description, secret = @secret,
                previous_secret = @previous_secret, previous_secret_expires_at = @previous_secret_expires_at,
                enabled = @enabled, disabled_reason = @disabled_reason, updated_at = @updated_at, version = @version
            WHERE id = @id AND owner_id = @owner_id AND version = @expected
            """);
        return await Bind(command, row).With("expected", expectedVersion).ExecuteNonQueryAsync() == 1;
    }

    /// <summary>Deletes the webhook and its deliveries (pending ones are dropped) in one transaction.</summary>
    public async Task<bool> DeleteAsync(string ownerId, string id)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        int deleted;
        await using (var command = connection.Command("DELETE FROM webhooks WHERE id = @id AND owner_id = @owner_id", transaction)
            .With("id", id).With("owner_id", ownerId))
        {
            deleted = await command.ExecuteNonQueryAsync();
        }

        await using (var command = connection.Command("DELETE FROM webhook_deliveries WHERE webhook_id = @id AND owner_id = @owner_id", transaction)
            .With("id", id).With("owner_id", ownerId))
        {
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return deleted == 1;
    }

    /// <summary>Adds one delivery due now (test events, redeliveries).</summary>
    public async Task<DeliveryView> InsertDeliveryAsync(string webhookId, string ownerId, OutboxEvent e, string? redeliveryOf, DateTimeOffset now)
    {
        var id = Ids.New(Ids.Delivery);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = InsertDelivery(connection, null, id, webhookId, ownerId, e.Id, e.Type, e.Payload, redeliveryOf, now, onConflictDoNothing: false);
        await command.ExecuteNonQueryAsync();
        return new DeliveryView(id, webhookId, e.Id, e.Type, DeliveryStatus.Pending, 0, null, null, now, now, now);
    }

    /// <summary>A delivery of the webhook, with its event (for a redelivery).</summary>
    public async Task<OutboxEvent?> LoadDeliveryEventAsync(string ownerId, string webhookId, string deliveryId)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT event_id, event_type, payload, created_at FROM webhook_deliveries WHERE id = @id AND webhook_id = @webhook_id AND owner_id = @owner_id");
        await using var reader = await command.With("id", deliveryId).With("webhook_id", webhookId).With("owner_id", ownerId).ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new OutboxEvent(reader.GetString(0), ownerId, reader.GetString(1), reader.GetString(2), ResourceStore.FromMicros(reader.GetInt64(3)))
            : null;
    }

    public async Task<(List<DeliveryView> Items, long Total)> ListDeliveriesAsync(string webhookId, int offset, int limit)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        var items = new List<DeliveryView>();
        await using (var command = connection.Command(
            $"SELECT {DeliveryColumns} FROM webhook_deliveries WHERE webhook_id = @webhook_id ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset")
            .With("webhook_id", webhookId).With("limit", limit).With("offset", offset))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                items.Add(new DeliveryView(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    Convert.ToInt32(reader.GetValue(5), CultureInfo.InvariantCulture),
                    reader.IsDBNull(6) ? null : Convert.ToInt32(reader.GetValue(6), CultureInfo.InvariantCulture),
                    reader.IsDBNull(7) ? null : reader.GetString(7),
                    reader.IsDBNull(8) ? null : ResourceStore.FromMicros(reader.GetInt64(8)),
                    ResourceStore.FromMicros(reader.GetInt64(9)), ResourceStore.FromMicros(reader.GetInt64(10))));
            }
        }

        await using var count = connection.Command("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = @webhook_id").With("webhook_id", webhookId);
        return (items, Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Moves up to <paramref name="batchSize"/> outbox events to deliveries in one transaction: a pending delivery for
    /// every enabled webhook of the event's owner subscribed to its type, then the events are deleted. Concurrent
    /// relays skip each other's rows (PostgreSQL) or run one at a time (SQLite's immediate transaction); a relay that
    /// repeats a fan-out cannot duplicate a delivery (unique webhook and event). Answers how many events it moved.
    /// </summary>
    public async Task<int> RelayAsync(int batchSize, DateTimeOffset now)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var moved = await DrainOutboxAsync(connection, transaction, null, batchSize, SkipLocked, now);
        await transaction.CommitAsync();
        return moved;
    }

    /// <summary>
    /// Fans out and deletes outbox events, oldest first: all owners' (<paramref name="ownerId"/> null) or one owner's.
    /// <paramref name="lockClause"/> is appended to the SELECT (PostgreSQL row locks), so concurrent drains either skip
    /// or wait for each other's rows.
    /// </summary>
    public static async Task<int> DrainOutboxAsync(DbConnection connection, DbTransaction transaction, string? ownerId, int limit,
        string lockClause, DateTimeOffset now)
    {
        var events = new List<OutboxEvent>();
        var filter = ownerId is null ? "" : "WHERE owner_id = @owner_id ";
        await using (var command = connection.Command(
            $"SELECT id, owner_id, type, payload, created_at FROM events_outbox {filter}ORDER BY created_at, id LIMIT @limit{lockClause}", transaction)
            .With("limit", limit))
        {
            if (ownerId is not null)
            {
                command.With("owner_id", ownerId);
            }

            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                events.Add(new OutboxEvent(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    ResourceStore.FromMicros(reader.GetInt64(4))));
            }
        }

        foreach (var e in events)
        {
            await FanOutAsync(connection, transaction, e, now);
            await using var delete = connection.Command("DELETE FROM events_outbox WHERE id = @id", transaction).With("id", e.Id);
            await delete.ExecuteNonQueryAsync();
        }

        return events.Count;
    }

    /// <summary>A pending delivery of <paramref name="e"/> for each enabled webhook of its owner that subscribes to it.</summary>
    public static async Task FanOutAsync(DbConnection connection, DbTransaction transaction, OutboxEvent e, DateTimeOffset now)
    {
        var webhooks = new List<string>();
        await using (var command = connection.Command(
            // Only endpoints that existed when the event happened: a webhook created while the relay lagged must
            // not receive what came before it. Two seconds of slack, because the event and the webhook may have been
            // stamped by different machines' clocks: an early extra event is harmless, a missed one is not.
            "SELECT id FROM webhooks WHERE owner_id = @owner_id AND enabled AND events LIKE @pattern AND created_at <= @event_at", transaction)
            .With("owner_id", e.OwnerId).With("pattern", WebhookEvents.SubscriptionPattern(e.Type))
            .With("event_at", ResourceStore.Micros(e.CreatedAt) + 2_000_000))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                webhooks.Add(reader.GetString(0));
            }
        }

        foreach (var webhookId in webhooks)
        {
            await using var insert = InsertDelivery(connection, transaction, Ids.New(Ids.Delivery), webhookId, e.OwnerId, e.Id, e.Type, e.Payload,
                null, now, onConflictDoNothing: true);
            await insert.ExecuteNonQueryAsync();
        }
    }

    /// <summary>
    /// Claims up to <paramref name="batchSize"/> due deliveries for <paramref name="lockFor"/> (another worker skips
    /// them until then; a worker that dies leaves them to be claimed again), with their webhooks' URL and secrets.
    /// </summary>
    public async Task<List<ClaimedDelivery>> ClaimDueAsync(int batchSize, DateTimeOffset now, TimeSpan lockFor)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        var claimed = new List<(string Id, string WebhookId, string EventId, string Payload, int Attempts)>();
        await using (var command = connection.Command($"""
            UPDATE webhook_deliveries SET locked_until = @locked_until
            WHERE id IN (SELECT id FROM webhook_deliveries
                         WHERE status = 'pending' AND next_attempt_at <= @now AND locked_until <= @now
                         ORDER BY next_attempt_at LIMIT @limit{SkipLocked})
            RETURNING id, webhook_id, event_id, payload, attempts
            """).With("locked_until", ResourceStore.Micros(now + lockFor)).With("now", ResourceStore.Micros(now)).With("limit", batchSize))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                claimed.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    Convert.ToInt32(reader.GetValue(4), CultureInfo.InvariantCulture)));
            }
        }

        var result = new List<ClaimedDelivery>(claimed.Count);
        foreach (var c in claimed)
        {
            await using var command = connection.Command(
                "SELECT url, secret, previous_secret, previous_secret_expires_at FROM webhooks WHERE id = @id").With("id", c.WebhookId);
            await using var reader = await command.ExecuteReaderAsync();
            if (await reader.ReadAsync())
            {
                result.Add(new ClaimedDelivery(c.Id, c.WebhookId, c.EventId, c.Payload, c.Attempts, reader.GetString(0), reader.GetString(1),
                    reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : ResourceStore.FromMicros(reader.GetInt64(3))));
            }
        }

        return result;
    }

    /// <summary>Most rows a backlog count reads: past it the gauge says "at least this many" and the count stays cheap.</summary>
    public const int BacklogCountLimit = 100_000;

    /// <summary>
    /// The backlog for the metrics: outbox rows not yet fanned out, and deliveries still pending (due or waiting for a
    /// retry), each counted up to <see cref="BacklogCountLimit"/>.
    /// </summary>
    public async Task<(long Outbox, long PendingDeliveries)> CountBacklogAsync()
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = connection.Command($"""
            SELECT (SELECT count(*) FROM (SELECT 1 FROM events_outbox LIMIT {BacklogCountLimit}) o),
                   (SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries WHERE status = 'pending' LIMIT {BacklogCountLimit}) d)
            """);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture));
    }

    /// <summary>Records an attempt's result and releases the claim.</summary>
    public async Task CompleteAsync(string deliveryId, string status, int attempts, int? statusCode, string? error, DateTimeOffset? nextAttemptAt,
        DateTimeOffset now)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE webhook_deliveries SET status = @status, attempts = @attempts, last_status_code = @code, last_error = @error,
                next_attempt_at = @next, locked_until = 0, updated_at = @now
            WHERE id = @id
            """);
        await command.With("status", status).With("attempts", attempts).WithNullable("code", statusCode).With("error", error)
            .WithNullable("next", nextAttemptAt is { } next ? ResourceStore.Micros(next) : null).With("now", ResourceStore.Micros(now))
            .With("id", deliveryId).ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Disables the webhook with a reason, and fails its other pending deliveries that no worker holds: the owner
    /// re-enables it and redelivers what matters.
    /// </summary>
    public async Task DisableAsync(string webhookId, string reason, DateTimeOffset now)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = connection.Command("""
            UPDATE webhooks SET enabled = FALSE, disabled_reason = @reason, updated_at = @now, version = version + 1
            WHERE id = @id AND enabled
            """, transaction))
        {
            await command.With("reason", reason).With("now", ResourceStore.Micros(now)).With("id", webhookId).ExecuteNonQueryAsync();
        }

        await using (var command = connection.Command("""
            UPDATE webhook_deliveries SET status = 'failed', last_error = @error, next_attempt_at = NULL, updated_at = @now
            WHERE webhook_id = @id AND status = 'pending' AND locked_until <= @now
            """, transaction))
        {
            await command.With("error", "not attempted: the webhook was disabled").With("now", ResourceStore.Micros(now)).With("id", webhookId)
                .ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    private static DbCommand InsertDelivery(DbConnection connection, DbTransaction? transaction, string id, string webhookId, string ownerId,
        string eventId, string eventType, string payload, string? redeliveryOf, DateTimeOffset now, bool onConflictDoNothing) =>
        connection.Command($"""
            INSERT INTO webhook_deliveries (id, webhook_id, owner_id, event_id, event_type, payload, status, attempts, last_status_code,
                last_error, next_attempt_at, locked_until, redelivery_of, created_at, updated_at)
            VALUES (@id, @webhook_id, @owner_id, @event_id, @event_type, @payload, 'pending', 0, NULL, NULL, @now, 0, @redelivery_of, @now, @now)
            {(onConflictDoNothing ? "ON CONFLICT DO NOTHING" : "")}
            """, transaction)
            .With("id", id).With("webhook_id", webhookId).With("owner_id", ownerId).With("event_id", eventId).With("event_type", eventType)
            .With("payload", payload).With("redelivery_of", redeliveryOf).With("now", ResourceStore.Micros(now));

    private static DbCommand Bind(DbCommand command, WebhookRow row) =>
        command.With("id", row.Id).With("owner_id", row.OwnerId).With("url", row.Url).With("events", JsonSerializer.Serialize(row.Events))
            .With("description", row.Description).With("secret", row.Secret).With("previous_secret", row.PreviousSecret)
            .WithNullable("previous_secret_expires_at", row.PreviousSecretExpiresAt is { } expires ? ResourceStore.Micros(expires) : null)
            .With("enabled", row.Enabled).With("disabled_reason", row.DisabledReason)
            .With("created_at", ResourceStore.Micros(row.CreatedAt)).With("updated_at", ResourceStore.Micros(row.UpdatedAt))
            .With("version", row.Version);

    private static WebhookRow ReadWebhook(DbDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2),
        JsonSerializer.Deserialize<List<string>>(reader.GetString(3)) ?? [],
        reader.IsDBNull(4) ? null : reader.GetString(4),
        reader.GetString(5),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.IsDBNull(7) ? null : ResourceStore.FromMicros(reader.GetInt64(7)),
        reader.GetBoolean(8),
        reader.IsDBNull(9) ? null : reader.GetString(9),
        ResourceStore.FromMicros(reader.GetInt64(10)), ResourceStore.FromMicros(reader.GetInt64(11)), reader.GetInt64(12));
}

/// <summary>Typed nulls for PostgreSQL's non-text columns.</summary>
internal static class NullableParameters
{
    public static DbCommand WithNullable(this DbCommand command, string name, long? value) =>
        Typed(command, name, value, NpgsqlTypes.NpgsqlDbType.Bigint);

    public static DbCommand WithNullable(this DbCommand command, string name, int? value) =>
        Typed(command, name, value, NpgsqlTypes.NpgsqlDbType.Integer);

    private static DbCommand Typed(DbCommand command, string name, object? value, NpgsqlTypes.NpgsqlDbType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        if (parameter is NpgsqlParameter npgsql)
        {
            npgsql.NpgsqlDbType = type;
        }

        command.Parameters.Add(parameter);
        return command;
    }
}
