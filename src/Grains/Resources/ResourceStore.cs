using System.Data.Common;
using System.Globalization;
using System.Text;
using ApiPlatform.Grains.Storage;
using ApiPlatform.Grains.Webhooks;

namespace ApiPlatform.Grains.Resources;

/// <summary>The SQL flavours the resource store speaks.</summary>
public enum SqlDialect
{
    Sqlite,
    Postgres,
}

/// <summary>What an insert came to.</summary>
public enum InsertOutcome
{
    Inserted,
    AlreadyExists,
    CapReached,

    /// <summary>Not attempted: the group-commit queue is full.</summary>
    Overloaded,
}

/// <summary>
/// The <c>resources</c> table: each row is a resource's document and its query columns, written in one statement
/// so the list can never disagree with the document. Used by <see cref="ResourceCreatorGrain"/> (creates),
/// <see cref="ResourceGrain"/> (reads and writes of one row) and <see cref="ResourceQueryGrain"/> (lists). Exact totals come from <c>resource_counts</c>, kept by triggers.
/// </summary>
public sealed class ResourceStore
{
    private const string Columns = "id, owner_id, name, description, type, status, metadata, created_at, updated_at, version";

    private readonly DbDataSource _dataSource;
    private readonly EventSignals? _signals;
    private readonly ResourceInsertBatcher? _batcher;

    public ResourceStore(DbDataSource dataSource, SqlDialect dialect, EventSignals? signals = null, int maxQueuedCreates = ResourceInsertBatcher.DefaultMaxQueued)
    {
        _dataSource = dataSource;
        Dialect = dialect;
        _signals = signals;
        _batcher = dialect == SqlDialect.Postgres ? new ResourceInsertBatcher(dataSource, InsertAloneAsync, EventWritten, maxQueuedCreates) : null;
    }

    /// <summary>Wakes this silo's relay: an insert wrote an outbox event (only then: most creates write none).</summary>
    private void EventWritten() => _signals?.Outbox.Set();

    public SqlDialect Dialect { get; }

    /// <summary>The group commit of creates on PostgreSQL; null on SQLite (one writer, nothing to group).</summary>
    public ResourceInsertBatcher? Batcher => _batcher;

    public async Task<ResourceView?> LoadAsync(string id)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {Columns} FROM resources WHERE id = @id");
        command.With("id", id);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    /// <summary>
    /// Inserts the row unless the id exists or the owner already holds <paramref name="cap"/> resources. On PostgreSQL a
    /// transaction-scoped advisory lock per owner makes the cap exact under concurrent creates; SQLite has one writer.
    /// Both statements go in one round trip; <paramref name="event"/>, when given, is written to the outbox in the same
    /// transaction, only when the row was inserted (and some webhook subscribes to it). On PostgreSQL, creates that
    /// overlap in time share one round trip and transaction (<see cref="ResourceInsertBatcher"/>).
    /// </summary>
    public Task<InsertOutcome> InsertAsync(ResourceView row, long cap, OutboxEvent? @event = null, CancellationToken cancellationToken = default) =>
        _batcher?.InsertAsync(row, cap, @event, cancellationToken) ?? InsertAloneAsync(row, cap, @event);

    private async Task<InsertOutcome> InsertAloneAsync(ResourceView row, long cap, OutboxEvent? @event)
    {
        const string insert = $"""
            INSERT INTO resources ({Columns})
            SELECT @id, @owner_id, @name, @description, @type, @status, @metadata, @created_at, @updated_at, @version
            WHERE (SELECT COALESCE(SUM(n), 0) FROM resource_counts WHERE owner_id = @owner_id) < @cap
            ON CONFLICT (id) DO NOTHING
            RETURNING id
            """;
        bool inserted;
        if (Dialect == SqlDialect.Postgres)
        {
            // One round trip, one implicit transaction (a single Sync): the per-owner lock, then the insert and its
            // outbox event in one statement, the event written only if the row was. The insert's snapshot is taken
            // after the lock is held, so it sees every create that committed before: the cap is exact.
            var sql = "SELECT pg_advisory_xact_lock(hashtextextended(@owner_id, 0));\n" + (@event is null
                ? insert
                : $"""
                    WITH ins AS ({insert}),
                    evt AS (INSERT INTO events_outbox (id, owner_id, type, payload, created_at)
                            SELECT @evt_id, @owner_id, @evt_type, @evt_payload, @evt_created_at FROM ins
                            WHERE {WebhookEvents.SubscribedCondition()} RETURNING 1)
                    SELECT id, EXISTS (SELECT 1 FROM evt) FROM ins
                    """);
            await using var command = _dataSource.CreateCommand(sql);
            AddRow(command, row);
            command.With("cap", cap);
            if (@event is not null)
            {
                command.With("evt_id", @event.Id);
                command.With("evt_type", @event.Type);
                command.With("evt_payload", @event.Payload);
                command.With("evt_created_at", Micros(@event.CreatedAt));
                command.With("evt_pattern", WebhookEvents.SubscriptionPattern(@event.Type));
            }

            (inserted, var eventWritten) = await LastResultAsync(command);
            if (eventWritten)
            {
                EventWritten();
            }
        }
        else
        {
            // SQLite has no data-modifying CTEs; it has one writer, so an immediate transaction is just as exact.
            await using var connection = await _dataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = insert;
            AddRow(command, row);
            command.With("cap", cap);
            (inserted, _) = await LastResultAsync(command);
            await WebhookEvents.CommitAsync(connection, transaction, _signals, inserted && @event is not null ? [@event] : []);
        }

        if (inserted)
        {
            return InsertOutcome.Inserted;
        }

        return await LoadAsync(row.Id) is null ? InsertOutcome.CapReached : InsertOutcome.AlreadyExists;
    }

    /// <summary>Whether the last result set has a row, and its second column (false when it has none).</summary>
    private static async Task<(bool HasRow, bool Flag)> LastResultAsync(DbCommand command)
    {
        (bool HasRow, bool Flag) last = default;
        await using var reader = await command.ExecuteReaderAsync();
        do
        {
            last = await reader.ReadAsync() ? (true, reader.FieldCount > 1 && reader.GetBoolean(1)) : (false, false);
        }
        while (await reader.NextResultAsync());

        return last;
    }

    /// <summary>
    /// Replaces the row if it is still at <paramref name="expectedVersion"/>; false otherwise. <paramref name="event"/>
    /// goes to the outbox in the same transaction.
    /// </summary>
    public async Task<bool> UpdateAsync(ResourceView row, long expectedVersion, OutboxEvent? @event = null)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE resources SET name = @name, description = @description, type = @type, status = @status,
                metadata = @metadata, updated_at = @updated_at, version = @version
            WHERE id = @id AND owner_id = @owner_id AND version = @expected
            """;
        AddRow(command, row);
        command.With("expected", expectedVersion);
        return await CommitWithEventAsync(command, transaction, @event);
    }

    /// <summary>
    /// Deletes the row if it is still at <paramref name="expectedVersion"/>; false otherwise. <paramref name="event"/>
    /// goes to the outbox in the same transaction.
    /// </summary>
    public async Task<bool> DeleteAsync(string id, long expectedVersion, OutboxEvent? @event = null)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM resources WHERE id = @id AND version = @expected";
        command.With("id", id);
        command.With("expected", expectedVersion);
        return await CommitWithEventAsync(command, transaction, @event);
    }

    /// <summary>Runs the versioned write; when it matched its row, writes the event and commits. Rolls back otherwise.</summary>
    private async Task<bool> CommitWithEventAsync(DbCommand command, DbTransaction transaction, OutboxEvent? @event)
    {
        if (await command.ExecuteNonQueryAsync() != 1)
        {
            await transaction.RollbackAsync();
            return false;
        }

        await WebhookEvents.CommitAsync(command.Connection!, transaction, _signals, @event is null ? [] : [@event]);
        return true;
    }

    /// <summary>The owner's resources matching the filters: exact total, one page, and the keyset after it.</summary>
    public async Task<ResourcePage> QueryAsync(ResourceQuery query)
    {
        var keys = query.Sort.Select(k => (Column: Column(k.Field), k.Descending)).ToList();
        keys.Add(("id", query.Sort.Count > 0 && query.Sort[^1].Descending));

        await using var command = _dataSource.CreateCommand();
        var where = new StringBuilder("owner_id = @owner_id");
        command.With("owner_id", query.OwnerId);
        if (query.Status is not null)
        {
            where.Append(" AND status = @status");
            command.With("status", query.Status);
        }

        if (query.Type is not null)
        {
            where.Append(" AND type = @type");
            command.With("type", query.Type);
        }

        if (query.After is { } after)
        {
            where.Append(" AND (").Append(KeysetCondition(command, keys, after)).Append(')');
        }

        var order = string.Join(", ", keys.Select(k => k.Column + (k.Descending ? " DESC" : " ASC")));
        // One row more than asked tells whether another page follows; the exact total comes from the counters in the
        // same round trip.
        command.CommandText = $"SELECT {Columns} FROM resources WHERE {where} ORDER BY {order} LIMIT @limit OFFSET @offset;\n"
            + CountSql(query.Status, query.Type);
        command.With("limit", query.Limit + 1);
        command.With("offset", query.After is null ? query.Offset : 0);

        var items = new List<ResourceView>(query.Limit + 1);
        long total;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                items.Add(Read(reader));
            }

            await reader.NextResultAsync();
            await reader.ReadAsync();
            total = Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
        }

        IReadOnlyList<string>? next = null;
        if (items.Count > query.Limit)
        {
            items.RemoveAt(items.Count - 1);
            next = [.. query.Sort.Select(k => KeyValue(items[^1], k.Field)), items[^1].Id];
        }

        return new ResourcePage(items, total, next);
    }

    private static string CountSql(string? status, string? type) =>
        "SELECT COALESCE(SUM(n), 0) FROM resource_counts WHERE owner_id = @owner_id"
        + (status is null ? "" : " AND status = @status")
        + (type is null ? "" : " AND type = @type");

    /// <summary>Exact count from the counters: a few rows per owner, however many resources.</summary>
    public async Task<long> CountAsync(string ownerId, string? status = null, string? type = null)
    {
        await using var command = _dataSource.CreateCommand(CountSql(status, type));
        command.With("owner_id", ownerId);
        if (status is not null)
        {
            command.With("status", status);
        }

        if (type is not null)
        {
            command.With("type", type);
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Rows strictly after <paramref name="after"/> in the sort order: for keys k1..kn,
    /// (k1 ≷ v1) OR (k1 = v1 AND k2 ≷ v2) OR …, which handles mixed directions and stays index-friendly.
    /// </summary>
    private static string KeysetCondition(DbCommand command, List<(string Column, bool Descending)> keys, IReadOnlyList<string> after)
    {
        if (after.Count != keys.Count)
        {
            throw new ArgumentException("The keyset does not match the sort.", nameof(after));
        }

        string condition;
        if (keys.All(k => k.Descending == keys[0].Descending))
        {
            // One direction: a row-value comparison, which both databases turn into an index range scan.
            condition = "(" + string.Join(", ", keys.Select(k => k.Column)) + ") " + (keys[0].Descending ? "<" : ">")
                + " (" + string.Join(", ", keys.Select((_, i) => $"@k{i}")) + ")";
        }
        else
        {
            condition = ExpandedCondition(keys);
        }

        for (var i = 0; i < keys.Count; i++)
        {
            command.With($"k{i}", keys[i].Column is "created_at" or "updated_at"
                ? long.Parse(after[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)
                : after[i]);
        }

        return condition;
    }

    /// <summary>Mixed directions: (k1 ≷ v1) OR (k1 = v1 AND k2 ≷ v2) OR ….</summary>
    private static string ExpandedCondition(List<(string Column, bool Descending)> keys)
    {
        var parts = new List<string>();
        for (var i = 0; i < keys.Count; i++)
        {
            var terms = new List<string>();
            for (var j = 0; j < i; j++)
            {
                terms.Add($"{keys[j].Column} = @k{j}");
            }

            terms.Add($"{keys[i].Column} {(keys[i].Descending ? "<" : ">")} @k{i}");
            parts.Add("(" + string.Join(" AND ", terms) + ")");
        }

        return string.Join(" OR ", parts);
    }

    private static string Column(string field) => field switch
    {
        "name" => "name",
        "type" => "type",
        "status" => "status",
        "created_at" => "created_at",
        "updated_at" => "updated_at",
        _ => throw new ArgumentException($"Unknown sort field '{field}'.", nameof(field)),
    };

    private static string KeyValue(ResourceView row, string field) => field switch
    {
        "name" => row.Name,
        "type" => row.Type,
        "status" => row.Status,
        "created_at" => Micros(row.CreatedAt).ToString(CultureInfo.InvariantCulture),
        "updated_at" => Micros(row.UpdatedAt).ToString(CultureInfo.InvariantCulture),
        _ => throw new ArgumentException($"Unknown sort field '{field}'.", nameof(field)),
    };

    public static long Micros(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static DateTimeOffset FromMicros(long micros) => DateTimeOffset.UnixEpoch.AddTicks(micros * 10);

    /// <summary>The time as stored (whole microseconds), so memory matches what a reload gives.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value) => FromMicros(Micros(value));

    private static void AddRow(DbCommand command, ResourceView row)
    {
        command.With("id", row.Id);
        command.With("owner_id", row.OwnerId);
        command.With("name", row.Name);
        command.With("description", row.Description);
        command.With("type", row.Type);
        command.With("status", row.Status);
        command.With("metadata", row.Metadata);
        command.With("created_at", Micros(row.CreatedAt));
        command.With("updated_at", Micros(row.UpdatedAt));
        command.With("version", row.Version);
    }

    private static ResourceView Read(DbDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.IsDBNull(3) ? null : reader.GetString(3),
        reader.GetString(4),
        reader.GetString(5),
        reader.GetString(6),
        FromMicros(reader.GetInt64(7)),
        FromMicros(reader.GetInt64(8)),
        reader.GetInt64(9));
}
