using System.Data.Common;
using System.Globalization;
using System.Text;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Resources;

/// <summary>What an insert came to.</summary>
public enum InsertOutcome
{
    Inserted,
    AlreadyExists,
    CapReached,

    /// <summary>The resource's type changed (declared, altered or deleted) since the write was checked against it.</summary>
    TypeChanged,

    /// <summary>Not attempted: the group-commit queue is full.</summary>
    Overloaded,
}

/// <summary>What a versioned update came to.</summary>
public enum UpdateOutcome
{
    Updated,

    /// <summary>The row is no longer at the expected version: it moved outside the writing activation.</summary>
    VersionMoved,

    /// <summary>The resource's new type changed since the write was checked against it.</summary>
    TypeChanged,
}

/// <summary>A metadata filter resolved to its slot column, with its values in stored form.</summary>
public sealed record SlotFilter(string Column, string Operator, IReadOnlyList<string> Values);

/// <summary>
/// Metadata sorts and filters of a query resolved against its type: the slot column of each sorted field (keyed
/// <c>metadata.&lt;field&gt;</c>), the filters, and the index generation they were resolved under (cursors carry it).
/// </summary>
public sealed record MetadataConditions(IReadOnlyDictionary<string, string> SortColumns, IReadOnlyList<SlotFilter> Filters, long IndexGen);

/// <summary>
/// What a write of a resource carries besides the row: the index slot values computed under its type, and the type
/// version they were computed (and the document checked) under, null for an undeclared type. The write happens only
/// if the type is still at that version, checked in the write's own transaction under the type's shared lock.
/// </summary>
public sealed record ResourceWriteGuard(IReadOnlyList<string?> Slots, long? TypeVersion)
{
    public static readonly ResourceWriteGuard Undeclared = new(new string?[ResourceTypeRules.MaxIndexes], null);
}

/// <summary>
/// The <c>resources</c> table: each row is a resource's document and its query columns, written in one statement
/// so the list can never disagree with the document. Used by <see cref="ResourceCreatorWorker"/> (creates),
/// <see cref="ResourceGrain"/> (reads and writes of one row) and <see cref="ResourceQueryWorker"/> (lists). Exact totals come from <c>resource_counts</c>, kept by triggers.
/// </summary>
public sealed class ResourceStore
{
    private const string Columns = "id, owner_id, name, description, type, status, metadata, created_at, updated_at, version";

    private readonly Database _database;
    private readonly EventLog _events;
    private readonly ResourceInsertBatcher? _batcher;
    private readonly GroupCommit<SqliteCreate, bool>? _sqliteCreates;
    private long _sqliteGroups;
    private long _sqliteGroupedRows;
    private string? _insertRowSql;

    public ResourceStore(Database database, EventLog? events = null, int maxQueuedCreates = ResourceInsertBatcher.DefaultMaxQueued)
    {
        _database = database;
        _events = events ?? new EventLog(database);
        _batcher = database.IsPostgres ? new ResourceInsertBatcher(database, InsertAloneAsync, _events, maxQueuedCreates) : null;
        _sqliteCreates = database.IsPostgres ? null : new GroupCommit<SqliteCreate, bool>(InsertSqliteGroupAsync, maxGroup: ResourceInsertBatcher.MaxGroup);
    }

    /// <summary>The group commit of creates on PostgreSQL; null on SQLite (see <see cref="SqliteGrouped"/>).</summary>
    public ResourceInsertBatcher? Batcher => _batcher;

    /// <summary>SQLite: transactions that wrote two or more creates so far, and the creates in them (for tests and diagnostics).</summary>
    public (long Groups, long Rows) SqliteGrouped => (Interlocked.Read(ref _sqliteGroups), Interlocked.Read(ref _sqliteGroupedRows));

    private sealed record SqliteCreate(ResourceView Row, long Cap, NewEvent? Event, ResourceWriteGuard Guard);

    public async Task<ResourceView?> LoadAsync(string id)
    {
        await using var command = _database.CreateCommand($"SELECT {Columns} FROM resources WHERE id = @id");
        command.With("id", id);
        await using var read = await _database.ExecuteReaderAsync(command);
        return await read.Reader.ReadAsync() ? Read(read.Reader) : null;
    }

    /// <summary>
    /// Inserts the row unless the id exists or the owner already holds <paramref name="cap"/> resources. On PostgreSQL a
    /// transaction-scoped advisory lock per owner makes the cap exact under concurrent creates; SQLite has one writer.
    /// Both statements go in one round trip; <paramref name="event"/>, when given, is written to the event log in the
    /// same transaction, only when the row was inserted, and published after the commit. Creates that overlap in time
    /// share one transaction: on PostgreSQL one round trip too (<see cref="ResourceInsertBatcher"/>), on SQLite the
    /// write lock and the commit (<see cref="InsertSqliteGroupAsync"/>).
    /// </summary>
    public Task<InsertOutcome> InsertAsync(
        ResourceView row, long cap, NewEvent? @event = null, ResourceWriteGuard? guard = null, CancellationToken cancellationToken = default) =>
        _batcher?.InsertAsync(row, cap, @event, guard ?? ResourceWriteGuard.Undeclared, cancellationToken)
        ?? InsertAloneAsync(row, cap, @event, guard ?? ResourceWriteGuard.Undeclared);

    /// <summary>SQL true when the type <paramref name="type"/> of <paramref name="ownerId"/> is at version <paramref name="version"/> (null: undeclared).</summary>
    private string TypeAt(string ownerId = "@owner_id", string type = "@type", string version = "@type_version") =>
        $"(SELECT rt.version FROM resource_types rt WHERE rt.owner_id = {ownerId} AND rt.name = {type}) {(_database.IsPostgres ? "IS NOT DISTINCT FROM" : "IS")} {version}";

    /// <summary>The shared lock of the written type (PostgreSQL), held to the end of the write's transaction.</summary>
    private const string TypeSharedLock = "SELECT pg_advisory_xact_lock_shared(hashtextextended('resource-type:' || @owner_id || '/' || @type, 0));\n";

    /// <summary>One row, unless its id exists, its owner is at <c>@cap</c> or its type moved from the checked version.</summary>
    private string InsertRowSql => _insertRowSql ??= $"""
        INSERT INTO resources ({Columns}, ix1, ix2, ix3, ix4, ix5)
        SELECT @id, @owner_id, @name, @description, @type, @status, @metadata, @created_at, @updated_at, @version, @ix1, @ix2, @ix3, @ix4, @ix5
        WHERE (SELECT COALESCE(SUM(n), 0) FROM resource_counts WHERE owner_id = @owner_id) < @cap AND {TypeAt()}
        ON CONFLICT (id) DO NOTHING
        RETURNING id
        """;

    private async Task<InsertOutcome> InsertAloneAsync(ResourceView row, long cap, NewEvent? @event, ResourceWriteGuard guard)
    {
        bool inserted;
        if (_database.IsPostgres)
        {
            var insert = InsertRowSql;
            // One round trip, one implicit transaction (a single Sync): the per-owner lock, then the insert and its
            // event in one statement, the event written only if the row was. The insert's snapshot is taken after
            // the locks are held, so it sees every create and type change that committed before: the cap is exact.
            var sql = TypeSharedLock + "SELECT pg_advisory_xact_lock(hashtextextended(@owner_id, 0));\n" + (@event is null
                ? insert
                : $"""
                    WITH ins AS ({insert}),
                    {_events.InsertCtes("SELECT @evt_id AS id, @owner_id AS owner_id, @evt_type AS type, @evt_payload AS payload, @evt_created_at AS created_at, 1 AS ord FROM ins")}
                    SELECT ins.id, evt.seq, evt.deliver FROM ins LEFT JOIN evt ON TRUE
                    """);
            await using var command = _database.CreateCommand(sql);
            AddRow(command, row, guard);
            command.With("cap", cap);
            if (@event is not null)
            {
                command.With("evt_id", @event.Id);
                command.With("evt_type", @event.Type);
                command.With("evt_payload", @event.Payload);
                command.With("evt_created_at", DbTime.Micros(@event.CreatedAt));
            }

            EventEnvelope? committed = null;
            inserted = false;
            await using (var reader = await command.ExecuteReaderAsync())
            {
                do
                {
                    if (reader.FieldCount > 0 && reader.GetName(0) == "id" && await reader.ReadAsync())
                    {
                        inserted = true;
                        if (@event is not null && reader.FieldCount > 1 && !reader.IsDBNull(1))
                        {
                            committed = @event.At(reader.GetInt64(1), reader.GetBoolean(2));
                        }
                    }
                }
                while (await reader.NextResultAsync());
            }

            if (committed is not null)
            {
                _events.Published([committed]);
            }
        }
        else
        {
            inserted = await _sqliteCreates!.AddAsync(new SqliteCreate(row, cap, @event, guard));
        }

        if (inserted)
        {
            return InsertOutcome.Inserted;
        }

        if (await LoadAsync(row.Id) is not null)
        {
            return InsertOutcome.AlreadyExists;
        }

        return await TypeIsAtAsync(row.OwnerId, row.Type, guard.TypeVersion) ? InsertOutcome.CapReached : InsertOutcome.TypeChanged;
    }

    /// <summary>
    /// SQLite has one writer, and what a write costs is taking the write lock and committing, not the row: 32 creates at
    /// once each began their own immediate transaction, and those that found the lock taken slept in
    /// Microsoft.Data.Sqlite's busy retry (the create's tail, bench/README.md item 5). Creates that arrive while a
    /// group is being written go together in the next transaction, each row's insert run in arrival order inside it,
    /// so every cap check sees the rows before it: as exact as one transaction per create. A group the database
    /// refuses is written again create by create (<see cref="GroupCommit{TItem, TResult}"/>).
    /// </summary>
    private async Task<IReadOnlyList<bool>> InsertSqliteGroupAsync(IReadOnlyList<SqliteCreate> creates)
    {
        // SQLite has no data-modifying CTEs; it has one writer, so an immediate transaction is just as exact.
        await using var connection = await _database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var inserted = new bool[creates.Count];
        var events = new List<NewEvent>();
        // One command for the group: the insert (with the counter triggers SQLite codes into it) is compiled once, not
        // once per row.
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = InsertRowSql;
        for (var i = 0; i < creates.Count; i++)
        {
            var create = creates[i];
            command.Parameters.Clear();
            AddRow(command, create.Row, create.Guard);
            command.With("cap", create.Cap);
            inserted[i] = await command.ExecuteScalarAsync() is not null;
            if (inserted[i] && create.Event is not null)
            {
                events.Add(create.Event);
            }
        }

        await _events.CommitAsync(connection, transaction, events);
        if (creates.Count > 1)
        {
            Interlocked.Increment(ref _sqliteGroups);
            Interlocked.Add(ref _sqliteGroupedRows, creates.Count);
        }

        return inserted;
    }

    private async Task<bool> TypeIsAtAsync(string ownerId, string type, long? version)
    {
        await using var command = _database.CreateCommand("SELECT version FROM resource_types WHERE owner_id = @owner_id AND name = @type");
        var current = await command.With("owner_id", ownerId).With("type", type).ExecuteScalarAsync();
        return (current is null or DBNull ? null : Convert.ToInt64(current, CultureInfo.InvariantCulture)) == version;
    }

    /// <summary>
    /// Replaces the row if it is still at <paramref name="expectedVersion"/> and its (new) type still at the guard's
    /// version. <paramref name="event"/> goes to the event log in the same transaction.
    /// </summary>
    public async Task<UpdateOutcome> UpdateAsync(ResourceView row, long expectedVersion, NewEvent? @event = null, ResourceWriteGuard? guard = null)
    {
        guard ??= ResourceWriteGuard.Undeclared;
        await using var connection = await _database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = (_database.IsPostgres ? TypeSharedLock : "") + $"""
            UPDATE resources SET name = @name, description = @description, type = @type, status = @status,
                metadata = @metadata, updated_at = @updated_at, version = @version,
                ix1 = @ix1, ix2 = @ix2, ix3 = @ix3, ix4 = @ix4, ix5 = @ix5
            WHERE id = @id AND owner_id = @owner_id AND version = @expected AND {TypeAt()}
            RETURNING 1
            """;
        AddRow(command, row, guard);
        command.With("expected", expectedVersion);
        if (!await LastResultHasRowAsync(command))
        {
            await transaction.RollbackAsync();
            var current = await LoadAsync(row.Id);
            return current?.Version == expectedVersion ? UpdateOutcome.TypeChanged : UpdateOutcome.VersionMoved;
        }

        await _events.CommitAsync(connection, transaction, @event is null ? [] : [@event]);
        return UpdateOutcome.Updated;
    }

    /// <summary>Whether the command's last result set (after any lock statements) has a row.</summary>
    private static async Task<bool> LastResultHasRowAsync(DbCommand command)
    {
        var hasRow = false;
        await using var reader = await command.ExecuteReaderAsync();
        do
        {
            hasRow = await reader.ReadAsync();
        }
        while (await reader.NextResultAsync());

        return hasRow;
    }

    /// <summary>
    /// Deletes the row if it is still at <paramref name="expectedVersion"/>; false otherwise. <paramref name="event"/>
    /// goes to the event log in the same transaction.
    /// </summary>
    public async Task<bool> DeleteAsync(string id, long expectedVersion, NewEvent? @event = null)
    {
        await using var connection = await _database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM resources WHERE id = @id AND version = @expected";
        command.With("id", id);
        command.With("expected", expectedVersion);
        return await CommitWithEventAsync(command, transaction, @event);
    }

    /// <summary>Runs the versioned write; when it matched its row, writes the event and commits. Rolls back otherwise.</summary>
    private async Task<bool> CommitWithEventAsync(DbCommand command, DbTransaction transaction, NewEvent? @event)
    {
        if (await command.ExecuteNonQueryAsync() != 1)
        {
            await transaction.RollbackAsync();
            return false;
        }

        await _events.CommitAsync(command.Connection!, transaction, @event is null ? [] : [@event]);
        return true;
    }

    /// <summary>
    /// The owner's resources matching the filters: exact total, one page, and the keyset after it. With
    /// <paramref name="metadata"/>, sorts and filters on indexed metadata fields run on their slot columns (the query's
    /// type is set then); the total is then counted on the slot's index (cost grows with the matches, not the tenant),
    /// otherwise it comes from the counters.
    /// </summary>
    public async Task<ResourcePage> QueryAsync(ResourceQuery query, MetadataConditions? metadata = null)
    {
        var keys = query.Sort.Select(k => (Column: Column(k.Field, metadata), k.Descending)).ToList();
        keys.Add(("id", query.Sort.Count > 0 && query.Sort[^1].Descending));

        await using var command = _database.CreateCommand();
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

        if (metadata is not null)
        {
            // Every slot the query touches is non-null for every resource of the type, and saying so lets both
            // databases use the slot's partial index.
            foreach (var column in metadata.Filters.Select(f => f.Column).Concat(keys.Select(k => k.Column)).Where(c => c.StartsWith("ix", StringComparison.Ordinal)).Distinct())
            {
                where.Append(" AND ").Append(column).Append(" IS NOT NULL");
            }

            for (var i = 0; i < metadata.Filters.Count; i++)
            {
                where.Append(" AND ").Append(FilterCondition(command, metadata.Filters[i], i));
            }
        }

        var filtered = where.ToString();
        if (query.After is { } after)
        {
            where.Append(" AND (").Append(KeysetCondition(command, keys, after)).Append(')');
        }

        var order = string.Join(", ", keys.Select(k => k.Column + (k.Descending ? " DESC" : " ASC")));
        var columns = metadata is null ? Columns : Columns + ", ix1, ix2, ix3, ix4, ix5";
        // One row more than asked tells whether another page follows; the exact total comes in the same round trip.
        // The limit is written into the statement, and OFFSET only when there is one: with either as a parameter,
        // PostgreSQL costs a generic plan as if it read a tenth of the rows, so a prepared statement would be planned
        // afresh on every execution; as a constant, the cached generic plan is used (page sizes are few).
        var offset = query.After is null ? query.Offset : 0;
        command.CommandText = $"SELECT {columns} FROM resources WHERE {where} ORDER BY {order} LIMIT {(query.Limit + 1).ToString(CultureInfo.InvariantCulture)}"
            + (offset > 0 ? " OFFSET @offset" : "") + ";\n"
            + (metadata is { Filters.Count: > 0 } ? MetadataCountSql(metadata, query.Status, filtered) : CountSql(query.Status, query.Type));
        if (offset > 0)
        {
            command.With("offset", offset);
        }

        var items = new List<ResourceView>(query.Limit + 1);
        string?[]? lastSlots = null;
        long total;
        await using (var read = await _database.ExecuteReaderAsync(command))
        {
            var reader = read.Reader;
            while (await reader.ReadAsync())
            {
                items.Add(Read(reader));
                if (metadata is not null && items.Count == query.Limit)
                {
                    lastSlots = Enumerable.Range(10, ResourceTypeRules.MaxIndexes).Select(c => reader.IsDBNull(c) ? null : reader.GetString(c)).ToArray();
                }
            }

            await reader.NextResultAsync();
            await reader.ReadAsync();
            total = Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
        }

        IReadOnlyList<string>? next = null;
        if (items.Count > query.Limit)
        {
            items.RemoveAt(items.Count - 1);
            next = [.. query.Sort.Select(k => KeyValue(items[^1], k.Field, metadata, lastSlots)), items[^1].Id];
        }

        return new ResourcePage(items, total, next, metadata?.IndexGen);
    }

    /// <summary>
    /// The exact total of a query with metadata filters: from <c>resource_index_counts</c> when it is one equality or
    /// <c>[in]</c> filter (with or without the status filter), a handful of counters; otherwise counted on the slot's
    /// index, a cost that grows with the matches.
    /// </summary>
    private static string MetadataCountSql(MetadataConditions metadata, string? status, string filtered)
    {
        if (metadata.Filters is not [{ Operator: FilterOperators.Eq or FilterOperators.In } filter])
        {
            return $"SELECT COUNT(*) FROM resources WHERE {filtered}";
        }

        var slot = int.Parse(filter.Column.AsSpan(2), CultureInfo.InvariantCulture);
        var values = filter.Operator == FilterOperators.In ? string.Join(", ", filter.Values.Select((_, j) => $"@m0_{j.ToString(CultureInfo.InvariantCulture)}")) : "@m0";
        return $"SELECT COALESCE(SUM(n), 0) FROM resource_index_counts WHERE owner_id = @owner_id AND type = @type AND slot = {slot.ToString(CultureInfo.InvariantCulture)} AND value IN ({values})"
            + (status is null ? "" : " AND status = @status");
    }

    /// <summary>One metadata filter on its slot column, with parameters <c>@m{index}_…</c>.</summary>
    private static string FilterCondition(DbCommand command, SlotFilter filter, int index)
    {
        var name = $"m{index.ToString(CultureInfo.InvariantCulture)}";
        if (filter.Operator == FilterOperators.In)
        {
            var names = filter.Values.Select((v, j) =>
            {
                var p = $"{name}_{j.ToString(CultureInfo.InvariantCulture)}";
                command.With(p, v);
                return "@" + p;
            });
            return $"{filter.Column} IN ({string.Join(", ", names)})";
        }

        command.With(name, filter.Values[0]);
        var missing = ResourceIndexValues.Missing;
        return filter.Operator switch
        {
            FilterOperators.Eq => $"{filter.Column} = @{name}",
            FilterOperators.Gt => $"{filter.Column} > @{name}",
            FilterOperators.Gte => $"{filter.Column} >= @{name}",
            // A missing value sorts below every value but is not "less than" any: it is no match.
            FilterOperators.Lt => $"{filter.Column} > '{missing}' AND {filter.Column} < @{name}",
            FilterOperators.Lte => $"{filter.Column} > '{missing}' AND {filter.Column} <= @{name}",
            _ => throw new ArgumentException($"Unknown operator '{filter.Operator}'.", nameof(filter)),
        };
    }

    private static string CountSql(string? status, string? type) =>
        "SELECT COALESCE(SUM(n), 0) FROM resource_counts WHERE owner_id = @owner_id"
        + (status is null ? "" : " AND status = @status")
        + (type is null ? "" : " AND type = @type");

    /// <summary>Exact count from the counters: a few rows per owner, however many resources.</summary>
    public async Task<long> CountAsync(string ownerId, string? status = null, string? type = null)
    {
        await using var command = _database.CreateCommand(CountSql(status, type));
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

    private static string Column(string field, MetadataConditions? metadata) =>
        metadata is not null && metadata.SortColumns.TryGetValue(field, out var column) ? column : Column(field);

    private static string KeyValue(ResourceView row, string field, MetadataConditions? metadata, string?[]? slots) =>
        metadata is not null && metadata.SortColumns.TryGetValue(field, out var column)
            ? slots![int.Parse(column.AsSpan(2), CultureInfo.InvariantCulture) - 1] ?? ResourceIndexValues.Missing
            : KeyValue(row, field);

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
        "created_at" => DbTime.Micros(row.CreatedAt).ToString(CultureInfo.InvariantCulture),
        "updated_at" => DbTime.Micros(row.UpdatedAt).ToString(CultureInfo.InvariantCulture),
        _ => throw new ArgumentException($"Unknown sort field '{field}'.", nameof(field)),
    };

    private static void AddRow(DbCommand command, ResourceView row, ResourceWriteGuard guard)
    {
        ResourceTypeStore.BindSlots(command, guard.Slots);
        command.With("type_version", guard.TypeVersion);
        command.With("id", row.Id);
        command.With("owner_id", row.OwnerId);
        command.With("name", row.Name);
        command.With("description", row.Description);
        command.With("type", row.Type);
        command.With("status", row.Status);
        command.With("metadata", row.Metadata);
        command.With("created_at", DbTime.Micros(row.CreatedAt));
        command.With("updated_at", DbTime.Micros(row.UpdatedAt));
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
        DbTime.FromMicros(reader.GetInt64(7)),
        DbTime.FromMicros(reader.GetInt64(8)),
        reader.GetInt64(9));
}
