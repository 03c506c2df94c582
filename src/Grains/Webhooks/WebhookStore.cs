using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Storage;
using Npgsql;
using NpgsqlTypes;

namespace ApiPlatform.Grains.Webhooks;

/// <summary>A <c>webhooks</c> row.</summary>
/// <summary>An owner's events handed to the webhook fan-out, and the position to acknowledge with them.</summary>
public sealed record OwnerRun(string OwnerId, IReadOnlyList<EventEnvelope> Events, long AcknowledgeThrough);

public sealed record WebhookRow(
    string Id, string OwnerId, string Url, IReadOnlyList<string> Events, string? Description, string Secret,
    string? PreviousSecret, DateTimeOffset? PreviousSecretExpiresAt, bool Enabled, string? DisabledReason,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long Version, long? FinalSeq = null)
{
    public WebhookView View() => new(Id, OwnerId, Url, Events, Description, Enabled, DisabledReason,
        Secret[..Math.Min(Secret.Length, 10)], CreatedAt, UpdatedAt);

    public WebhookTarget Target() => new(Url, Secret, PreviousSecret, PreviousSecretExpiresAt);

    /// <summary>Whether the endpoint subscribes to <paramref name="type"/>.</summary>
    public bool Subscribes(string type) => Events.Contains(type);
}

/// <summary>
/// The <c>webhooks</c> and <c>webhook_deliveries</c> tables: the endpoints' configuration (written by their grains),
/// the fan-out of events to deliveries, the attempts' results (fenced by attempt number), and the sweep's queries.
/// </summary>
public sealed class WebhookStore(Database database)
{
    /// <summary>Why the deliveries of an endpoint stop; shown as the deliveries' <c>last_error</c>.</summary>
    public const string NotAttemptedDisabled = "not attempted: the webhook was disabled";

    private const string WebhookColumns = "id, owner_id, url, events, description, secret, previous_secret, previous_secret_expires_at, "
        + "enabled, disabled_reason, created_at, updated_at, version, final_seq";

    private const string DeliveryColumns = "id, webhook_id, event_id, event_type, status, attempts, last_status_code, last_error, "
        + "next_attempt_at, created_at, updated_at";

    private const string QueuedColumns = "id, event_id, event_type, payload, event_seq, attempts, next_attempt_at, created_at";

    /// <summary>The SQL test that an endpoint's stored <c>events</c> (a JSON array) lists the type given.</summary>
    public static string SubscribesSql(string eventsColumn, string typeExpression) => $"{eventsColumn} LIKE '%\"' || {typeExpression} || '\"%'";

    /// <summary>Inserts the webhook unless the owner holds <paramref name="cap"/> already (exact: advisory lock on PostgreSQL).</summary>
    public async Task<bool> InsertAsync(WebhookRow row, long cap)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (database.IsPostgres)
        {
            await using var lockCommand = connection.Command("SELECT pg_advisory_xact_lock(hashtextextended('webhooks:' || @owner_id, 0))", transaction)
                .With("owner_id", row.OwnerId);
            await lockCommand.ExecuteNonQueryAsync();
        }

        await using var command = connection.Command($"""
            INSERT INTO webhooks ({WebhookColumns})
            SELECT @id, @owner_id, @url, @events, @description, @secret, @previous_secret, @previous_secret_expires_at,
                   @enabled, @disabled_reason, @created_at, @updated_at, @version, NULL
            WHERE (SELECT COUNT(*) FROM webhooks WHERE owner_id = @owner_id) < @cap
            """, transaction);
        var inserted = await Bind(command, row).With("cap", cap).ExecuteNonQueryAsync() == 1;
        await transaction.CommitAsync();
        return inserted;
    }

    public async Task<WebhookRow?> LoadAsync(string id)
    {
        await using var command = database.CreateCommand($"SELECT {WebhookColumns} FROM webhooks WHERE id = @id");
        await using var reader = await command.With("id", id).ExecuteReaderAsync();
        return await reader.ReadAsync() ? ReadWebhook(reader) : null;
    }

    public async Task<(List<WebhookRow> Items, long Total)> ListAsync(string ownerId, int offset, int limit)
    {
        await using var connection = await database.OpenConnectionAsync();
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

    /// <summary>
    /// Replaces the row if it is still at <paramref name="expectedVersion"/>; false otherwise. When the change
    /// disables the endpoint, its pending deliveries fail in the same transaction (nothing more is sent).
    /// </summary>
    public async Task<bool> UpdateAsync(WebhookRow row, long expectedVersion, string? failPendingWith = null, DateTimeOffset? now = null)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = connection.Command("""
            UPDATE webhooks SET url = @url, events = @events, description = @description, secret = @secret,
                previous_secret = @previous_secret, previous_secret_expires_at = @previous_secret_expires_at,
                enabled = @enabled, disabled_reason = @disabled_reason, updated_at = @updated_at, version = @version
            WHERE id = @id AND owner_id = @owner_id AND version = @expected
            """, transaction))
        {
            if (await Bind(command, row).With("expected", expectedVersion).ExecuteNonQueryAsync() != 1)
            {
                await transaction.RollbackAsync();
                return false;
            }
        }

        if (failPendingWith is not null)
        {
            await FailPendingAsync(connection, transaction, row.Id, failPendingWith, now ?? row.UpdatedAt, onlyRetries: false);
        }

        await transaction.CommitAsync();
        return true;
    }

    /// <summary>Deletes the webhook and its deliveries (pending ones are dropped) in one transaction.</summary>
    public async Task<bool> DeleteAsync(string ownerId, string id)
    {
        await using var connection = await database.OpenConnectionAsync();
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

    /// <summary>
    /// Disables the endpoint with a reason (unless already disabled) and fails its pending deliveries: the owner
    /// re-enables it and redelivers what matters. Answers the row as it is now.
    /// </summary>
    public async Task<WebhookRow?> DisableAsync(string webhookId, string reason, DateTimeOffset now)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = connection.Command("""
            UPDATE webhooks SET enabled = FALSE, disabled_reason = @reason, updated_at = @now, version = version + 1
            WHERE id = @id AND enabled
            """, transaction))
        {
            await command.With("reason", reason).With("now", DbTime.Micros(now)).With("id", webhookId).ExecuteNonQueryAsync();
        }

        await FailPendingAsync(connection, transaction, webhookId, NotAttemptedDisabled, now, onlyRetries: false);
        await transaction.CommitAsync();
        return await LoadAsync(webhookId);
    }

    /// <summary>The ids of an owner's endpoints, enabled or not.</summary>
    public static async Task<IReadOnlyList<string>> EndpointIdsAsync(Database database, string ownerId)
    {
        await using var command = database.CreateCommand("SELECT id FROM webhooks WHERE owner_id = @owner_id").With("owner_id", ownerId);
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>
    /// In the transaction deleting an owner: disables every endpoint of the owner, lets each still receive the owner's
    /// events up to <paramref name="finalSeq"/> (the deletion's own event), once, and fails every retry pending now.
    /// Answers the endpoints' ids, whose grains must drop their schedules.
    /// </summary>
    public static async Task<IReadOnlyList<string>> CloseOwnerAsync(DbConnection connection, DbTransaction transaction, string ownerId,
        long finalSeq, DateTimeOffset now)
    {
        var ids = new List<string>();
        await using (var command = connection.Command("""
            UPDATE webhooks SET enabled = FALSE, disabled_reason = 'the organization was deleted', final_seq = @final_seq,
                updated_at = @now, version = version + 1
            WHERE owner_id = @owner_id
            RETURNING id
            """, transaction).With("owner_id", ownerId).With("final_seq", finalSeq).With("now", DbTime.Micros(now)))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                ids.Add(reader.GetString(0));
            }
        }

        await using (var command = connection.Command("""
            UPDATE webhook_deliveries SET status = 'failed', last_error = 'not attempted again: the organization was deleted',
                next_attempt_at = NULL, updated_at = @now
            WHERE owner_id = @owner_id AND status = 'pending' AND attempts > 0
            """, transaction).With("owner_id", ownerId).With("now", DbTime.Micros(now)))
        {
            await command.ExecuteNonQueryAsync();
        }

        return ids;
    }

    private static async Task FailPendingAsync(DbConnection connection, DbTransaction transaction, string webhookId, string error,
        DateTimeOffset now, bool onlyRetries)
    {
        await using var command = connection.Command($"""
            UPDATE webhook_deliveries SET status = 'failed', last_error = @error, next_attempt_at = NULL, updated_at = @now
            WHERE webhook_id = @id AND status = 'pending'{(onlyRetries ? " AND attempts > 0" : "")}
            """, transaction);
        await command.With("error", error).With("now", DbTime.Micros(now)).With("id", webhookId).ExecuteNonQueryAsync();
    }

    /// <summary>The endpoint's pending deliveries in the order they go out, at most <paramref name="limit"/>.</summary>
    public async Task<List<QueuedDelivery>> LoadPendingAsync(string webhookId, int limit)
    {
        await using var command = database.CreateCommand($"""
            SELECT {QueuedColumns} FROM webhook_deliveries
            WHERE webhook_id = @id AND status = 'pending'
            ORDER BY next_attempt_at, event_seq, created_at, id
            LIMIT @limit
            """);
        await using var reader = await command.With("id", webhookId).With("limit", limit).ExecuteReaderAsync();
        var items = new List<QueuedDelivery>();
        while (await reader.ReadAsync())
        {
            items.Add(ReadQueued(reader));
        }

        return items;
    }

    /// <summary>Adds one delivery due now (test events, redeliveries).</summary>
    public async Task<QueuedDelivery> InsertDeliveryAsync(string webhookId, string ownerId, string eventId, string eventType, string payload,
        long? eventSeq, string? redeliveryOf, DateTimeOffset now)
    {
        var id = Ids.New(Ids.Delivery);
        await using var command = database.CreateCommand("""
            INSERT INTO webhook_deliveries (id, webhook_id, owner_id, event_id, event_type, payload, event_seq, status, attempts,
                last_status_code, last_error, next_attempt_at, redelivery_of, created_at, updated_at)
            VALUES (@id, @webhook_id, @owner_id, @event_id, @event_type, @payload, @event_seq, 'pending', 0, NULL, NULL, @now, @redelivery_of, @now, @now)
            """);
        await command.With("id", id).With("webhook_id", webhookId).With("owner_id", ownerId).With("event_id", eventId)
            .With("event_type", eventType).With("payload", payload).With("event_seq", eventSeq).With("redelivery_of", redeliveryOf)
            .With("now", DbTime.Micros(now)).ExecuteNonQueryAsync();
        return new QueuedDelivery(id, eventId, eventType, payload, eventSeq, 0, now, now);
    }

    /// <summary>A delivery of the webhook, with its event (for a redelivery): id, type, body and position.</summary>
    public async Task<(string EventId, string Type, string Payload, long? Seq)?> LoadDeliveryEventAsync(string webhookId, string deliveryId)
    {
        await using var command = database.CreateCommand(
            "SELECT event_id, event_type, payload, event_seq FROM webhook_deliveries WHERE id = @id AND webhook_id = @webhook_id");
        await using var reader = await command.With("id", deliveryId).With("webhook_id", webhookId).ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt64(3))
            : null;
    }

    public async Task<(List<DeliveryView> Items, long Total)> ListDeliveriesAsync(string webhookId, int offset, int limit)
    {
        await using var connection = await database.OpenConnectionAsync();
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
                    reader.IsDBNull(8) ? null : DbTime.FromMicros(reader.GetInt64(8)),
                    DbTime.FromMicros(reader.GetInt64(9)), DbTime.FromMicros(reader.GetInt64(10))));
            }
        }

        await using var count = connection.Command("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = @webhook_id").With("webhook_id", webhookId);
        return (items, Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
    }

    /// <summary>Most rows a backlog count reads: past it the gauge says "at least this many" and the count stays cheap.</summary>
    public const int BacklogCountLimit = 100_000;

    /// <summary>
    /// The backlog for the metrics: committed events no consumer acknowledged yet (the outbox beneath the streams), and
    /// deliveries still pending (due or waiting for a retry), each counted up to <see cref="BacklogCountLimit"/>.
    /// </summary>
    public async Task<(long Outbox, long PendingDeliveries)> CountBacklogAsync()
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var command = connection.Command($"""
            SELECT (SELECT COALESCE(SUM(o.last_seq - COALESCE(a.acked_seq, 0)), 0)
                    FROM event_owners o LEFT JOIN event_acks a ON a.owner_id = o.owner_id WHERE o.last_seq > COALESCE(a.acked_seq, 0)),
                   (SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries WHERE status = 'pending' LIMIT {BacklogCountLimit}) d)
            """);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (Math.Min(Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture), BacklogCountLimit),
            Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Records attempts' results, fenced: each only if its delivery is still pending and still at the attempt count the
    /// attempt started from. A stale attempt (its endpoint disabled or deleted meanwhile, or another activation's
    /// attempt recorded first) changes nothing. One statement for all of them (the results an endpoint's attempts
    /// gathered while the previous write ran); answers the ids of the deliveries whose result was recorded.
    /// </summary>
    public async Task<HashSet<string>> CompleteAttemptsAsync(IReadOnlyList<AttemptRecord> results, DateTimeOffset now)
    {
        var recorded = new HashSet<string>(StringComparer.Ordinal);
        if (results.Count == 0)
        {
            return recorded;
        }

        await using var connection = await database.OpenConnectionAsync();
        if (database.IsPostgres)
        {
            // Each row by its primary key. Written as d.status = 'pending', the condition lets the planner walk the
            // partial index of pending deliveries instead, and under load that index is mostly entries of rows that
            // stopped being pending moments ago and cannot be pruned yet while other transactions run: the walk grew
            // with the delivery rate (bench/README.md, the event path). The scalar subquery hides the constant from
            // the planner, so the index's predicate cannot be matched.
            await using var command = (NpgsqlCommand)connection.Command("""
                UPDATE webhook_deliveries d SET status = u.status, attempts = u.before + 1, last_status_code = u.code, last_error = u.error,
                    next_attempt_at = u.next, updated_at = @now
                FROM unnest(@ids, @befores, @statuses, @codes, @errors, @nexts) AS u(id, before, status, code, error, next)
                WHERE d.id = u.id AND d.attempts = u.before AND d.status = (SELECT 'pending'::text)
                RETURNING d.id
                """);
            command.Parameters.Add(SqlCommandExtensions.Texts("ids", results.Select(r => r.DeliveryId)));
            command.Parameters.Add(new NpgsqlParameter<int[]>("befores", results.Select(r => r.AttemptsBefore).ToArray()));
            command.Parameters.Add(SqlCommandExtensions.Texts("statuses", results.Select(r => r.Status)));
            command.Parameters.Add(new NpgsqlParameter<int?[]>("codes", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = results.Select(r => r.StatusCode).ToArray() });
            command.Parameters.Add(new NpgsqlParameter<string?[]>("errors", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = results.Select(r => r.Error).ToArray() });
            command.Parameters.Add(new NpgsqlParameter<long?[]>("nexts", NpgsqlDbType.Array | NpgsqlDbType.Bigint)
            {
                TypedValue = results.Select(r => r.NextAttemptAt is { } next ? DbTime.Micros(next) : (long?)null).ToArray(),
            });
            command.With("now", DbTime.Micros(now));
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                recorded.Add(reader.GetString(0));
            }

            return recorded;
        }

        await using var transaction = await connection.BeginTransactionAsync();
        foreach (var r in results)
        {
            await using var command = connection.Command("""
                UPDATE webhook_deliveries SET status = @status, attempts = @attempts, last_status_code = @code, last_error = @error,
                    next_attempt_at = @next, updated_at = @now
                WHERE id = @id AND status = 'pending' AND attempts = @before
                """, transaction);
            command.With("status", r.Status).With("attempts", r.AttemptsBefore + 1).With("code", (long?)r.StatusCode).With("error", r.Error)
                .With("next", r.NextAttemptAt is { } next ? DbTime.Micros(next) : null).With("now", DbTime.Micros(now))
                .With("id", r.DeliveryId).With("before", r.AttemptsBefore);
            if (await command.ExecuteNonQueryAsync() == 1)
            {
                recorded.Add(r.DeliveryId);
            }
        }

        await transaction.CommitAsync();
        return recorded;
    }

    /// <summary>
    /// The fan-out of owners' events (<paramref name="runs"/>, one or more owners): a pending delivery for every
    /// endpoint of the run's owner that subscribes to an event's type and is enabled (or was closed by the owner's
    /// deletion at or after the event), and existed when the event happened — with each owner's acknowledged position
    /// moved to its run's <see cref="OwnerRun.AcknowledgeThrough"/> in the same transaction. A repeated fan-out adds
    /// nothing (one delivery per endpoint and event). Answers, per run, the deliveries it created.
    /// </summary>
    public async Task<IReadOnlyList<List<(string WebhookId, QueuedDelivery Delivery)>>> FanOutAsync(IReadOnlyList<OwnerRun> runs, DateTimeOffset now)
    {
        await using var connection = await database.OpenConnectionAsync();
        var owners = runs.Select(r => r.OwnerId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

        // The candidates: the owners' endpoints as they are now (the insert below checks them again, row by row).
        var endpoints = new List<WebhookRow>();
        // PostgreSQL gets one statement text for any number of owners (it is prepared once); SQLite a list.
        await using (var command = connection.Command($"SELECT {WebhookColumns} FROM webhooks WHERE "
            + (database.IsPostgres ? "owner_id = ANY(@owners)" : $"owner_id IN ({string.Join(", ", owners.Select((_, i) => "@o" + i))})")))
        {
            if (command is NpgsqlCommand npgsql)
            {
                npgsql.Parameters.Add(SqlCommandExtensions.Texts("owners", owners));
            }
            else
            {
                for (var i = 0; i < owners.Length; i++)
                {
                    command.With("o" + i, owners[i]);
                }
            }

            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                endpoints.Add(ReadWebhook(reader));
            }
        }

        var planned = new List<(int Run, string OwnerId, string WebhookId, QueuedDelivery Delivery)>();
        for (var run = 0; run < runs.Count; run++)
        {
            var ownerId = runs[run].OwnerId;
            foreach (var e in runs[run].Events.Where(e => e.Deliver))
            {
                foreach (var w in endpoints.Where(w => w.OwnerId == ownerId))
                {
                    // Only endpoints that existed when the event happened: one created while the fan-out lagged must not
                    // receive what came before it. Two seconds of slack, because the event and the endpoint may have been
                    // stamped by different machines' clocks: an early extra event is harmless, a missed one is not.
                    if ((w.Enabled || e.Seq <= w.FinalSeq) && w.Subscribes(e.Type) && w.CreatedAt <= e.CreatedAt + TimeSpan.FromSeconds(2))
                    {
                        planned.Add((run, ownerId, w.Id, new QueuedDelivery(Ids.New(Ids.Delivery), e.Id, e.Type, e.Payload, e.Seq, 0, now, now)));
                    }
                }
            }
        }

        // One position per owner, in owner order (so two fan-outs never take the acknowledgement rows in opposite order).
        var acks = runs.GroupBy(r => r.OwnerId, StringComparer.Ordinal).Select(g => (OwnerId: g.Key, Seq: g.Max(r => r.AcknowledgeThrough)))
            .OrderBy(a => a.OwnerId, StringComparer.Ordinal).ToList();
        var created = new HashSet<string>(StringComparer.Ordinal);
        if (database.IsPostgres)
        {
            // One statement, so one implicit transaction: the deliveries and the acknowledgements commit together.
            await using var command = (NpgsqlCommand)connection.Command($"""
                WITH ins AS (
                    INSERT INTO webhook_deliveries (id, webhook_id, owner_id, event_id, event_type, payload, event_seq, status, attempts,
                        last_status_code, last_error, next_attempt_at, redelivery_of, created_at, updated_at)
                    SELECT d.id, d.webhook_id, d.owner_id, d.event_id, d.event_type, d.payload, d.event_seq, 'pending', 0, NULL, NULL, @now, NULL, @now, @now
                    FROM unnest(@ids, @webhook_ids, @owner_ids, @event_ids, @event_types, @payloads, @seqs)
                        AS d(id, webhook_id, owner_id, event_id, event_type, payload, event_seq)
                    JOIN webhooks w ON w.id = d.webhook_id AND (w.enabled OR d.event_seq <= w.final_seq)
                    ON CONFLICT DO NOTHING
                    RETURNING id
                ),
                ack AS ({EventStore.AcknowledgeSql(database.Dialect, "SELECT * FROM unnest(@ack_owners, @ack_seqs) AS a(owner_id, acked_seq)")})
                SELECT id FROM ins
                """);
            command.Parameters.Add(SqlCommandExtensions.Texts("ids", planned.Select(p => p.Delivery.Id)));
            command.Parameters.Add(SqlCommandExtensions.Texts("webhook_ids", planned.Select(p => p.WebhookId)));
            command.Parameters.Add(SqlCommandExtensions.Texts("owner_ids", planned.Select(p => p.OwnerId)));
            command.Parameters.Add(SqlCommandExtensions.Texts("event_ids", planned.Select(p => p.Delivery.EventId)));
            command.Parameters.Add(SqlCommandExtensions.Texts("event_types", planned.Select(p => p.Delivery.EventType)));
            command.Parameters.Add(SqlCommandExtensions.Texts("payloads", planned.Select(p => p.Delivery.Payload)));
            command.Parameters.Add(new NpgsqlParameter<long[]>("seqs", planned.Select(p => p.Delivery.EventSeq ?? 0).ToArray()));
            command.Parameters.Add(SqlCommandExtensions.Texts("ack_owners", acks.Select(a => a.OwnerId)));
            command.Parameters.Add(new NpgsqlParameter<long[]>("ack_seqs", acks.Select(a => a.Seq).ToArray()));
            command.With("now", DbTime.Micros(now));
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                created.Add(reader.GetString(0));
            }
        }
        else
        {
            await using var transaction = await connection.BeginTransactionAsync();
            foreach (var (_, ownerId, webhookId, d) in planned)
            {
                await using var command = connection.Command("""
                    INSERT INTO webhook_deliveries (id, webhook_id, owner_id, event_id, event_type, payload, event_seq, status, attempts,
                        last_status_code, last_error, next_attempt_at, redelivery_of, created_at, updated_at)
                    SELECT @id, w.id, @owner_id, @event_id, @event_type, @payload, @event_seq, 'pending', 0, NULL, NULL, @now, NULL, @now, @now
                    FROM webhooks w WHERE w.id = @webhook_id AND (w.enabled OR @event_seq <= w.final_seq)
                    ON CONFLICT DO NOTHING
                    """, transaction)
                    .With("id", d.Id).With("webhook_id", webhookId).With("owner_id", ownerId).With("event_id", d.EventId)
                    .With("event_type", d.EventType).With("payload", d.Payload).With("event_seq", d.EventSeq ?? 0).With("now", DbTime.Micros(now));
                if (await command.ExecuteNonQueryAsync() == 1)
                {
                    created.Add(d.Id);
                }
            }

            foreach (var (ownerId, seq) in acks)
            {
                await using var ack = connection.Command(EventStore.AcknowledgeSql(database.Dialect, "SELECT @owner_id, @ack"), transaction)
                    .With("owner_id", ownerId).With("ack", seq);
                await ack.ExecuteNonQueryAsync();
            }

            await transaction.CommitAsync();
        }

        var byRun = runs.Select(_ => new List<(string WebhookId, QueuedDelivery Delivery)>()).ToList();
        foreach (var (run, _, webhookId, delivery) in planned.Where(p => created.Contains(p.Delivery.Id)))
        {
            byRun[run].Add((webhookId, delivery));
        }

        return byRun;
    }

    /// <summary>Endpoints with a pending delivery due before <paramref name="horizon"/> (at most <paramref name="limit"/>).</summary>
    public async Task<List<string>> DueEndpointsAsync(DateTimeOffset horizon, int limit)
    {
        await using var command = database.CreateCommand("""
            SELECT DISTINCT webhook_id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= @horizon LIMIT @limit
            """);
        await using var reader = await command.With("horizon", DbTime.Micros(horizon)).With("limit", limit).ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>Deletes up to <paramref name="batch"/> finished deliveries last changed before <paramref name="cutoff"/>.</summary>
    public async Task<int> PurgeDeliveriesAsync(DateTimeOffset cutoff, int batch)
    {
        await using var command = database.CreateCommand("""
            DELETE FROM webhook_deliveries WHERE id IN (
                SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < @cutoff LIMIT @batch)
            """);
        return await command.With("cutoff", DbTime.Micros(cutoff)).With("batch", batch).ExecuteNonQueryAsync();
    }

    private static DbCommand Bind(DbCommand command, WebhookRow row) =>
        command.With("id", row.Id).With("owner_id", row.OwnerId).With("url", row.Url).With("events", JsonSerializer.Serialize(row.Events))
            .With("description", row.Description).With("secret", row.Secret).With("previous_secret", row.PreviousSecret)
            .With("previous_secret_expires_at", row.PreviousSecretExpiresAt is { } expires ? DbTime.Micros(expires) : null)
            .With("enabled", row.Enabled).With("disabled_reason", row.DisabledReason)
            .With("created_at", DbTime.Micros(row.CreatedAt)).With("updated_at", DbTime.Micros(row.UpdatedAt))
            .With("version", row.Version);

    private static WebhookRow ReadWebhook(DbDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2),
        JsonSerializer.Deserialize<List<string>>(reader.GetString(3)) ?? [],
        reader.IsDBNull(4) ? null : reader.GetString(4),
        reader.GetString(5),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.IsDBNull(7) ? null : DbTime.FromMicros(reader.GetInt64(7)),
        reader.GetBoolean(8),
        reader.IsDBNull(9) ? null : reader.GetString(9),
        DbTime.FromMicros(reader.GetInt64(10)), DbTime.FromMicros(reader.GetInt64(11)), reader.GetInt64(12),
        reader.IsDBNull(13) ? null : reader.GetInt64(13));

    private static QueuedDelivery ReadQueued(DbDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
        reader.IsDBNull(4) ? null : reader.GetInt64(4),
        Convert.ToInt32(reader.GetValue(5), CultureInfo.InvariantCulture),
        reader.IsDBNull(6) ? DbTime.FromMicros(reader.GetInt64(7)) : DbTime.FromMicros(reader.GetInt64(6)),
        DbTime.FromMicros(reader.GetInt64(7)));
}
