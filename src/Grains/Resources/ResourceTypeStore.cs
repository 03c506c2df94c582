using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Resources;

/// <summary>What an insert of a type came to.</summary>
public enum TypeInsertOutcome
{
    Inserted,
    AlreadyExists,
    CapReached,
}

/// <summary>
/// The <c>resource_types</c> table, and the re-indexing of a type's resources when its indexes change.
/// </summary>
/// <remarks>
/// Every change of a type and every write of a resource meet on one PostgreSQL advisory lock per owner and type name
/// (<see cref="LockKey"/>): resource writes take it shared for their transaction, type changes exclusively. So a type
/// change waits for the writes already running against the old declaration, and the writes after it see the new one
/// (they check the type's version in their own statement); deleting a type counts its resources with no create of
/// that type in flight, which makes "409 while it has resources" exact. SQLite has one writer at a time, which gives
/// the same order.
/// </remarks>
public sealed class ResourceTypeStore(Database database)
{
    private const string Columns = "owner_id, name, schema, max_bytes, indexes, require_if_match, index_gen, built_gen, created_at, updated_at, version";

    private static readonly JsonSerializerOptions IndexJson = new(JsonSerializerDefaults.Web);

    /// <summary>The advisory-lock key of a type (see the remarks): hashed with <c>hashtextextended</c>.</summary>
    public static string LockKey(string ownerId, string name) => "resource-type:" + ResourceTypeRules.Key(ownerId, name);

    public async Task<ResourceTypeView?> LoadAsync(string ownerId, string name)
    {
        await using var command = database.CreateCommand($"SELECT {Columns} FROM resource_types WHERE owner_id = @owner_id AND name = @name");
        await using var reader = await command.With("owner_id", ownerId).With("name", name).ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    /// <summary>
    /// Inserts the type unless it exists or the owner holds <paramref name="cap"/> types (exact: an advisory lock per
    /// owner on PostgreSQL). Its indexes are ready at once when no resource has the type yet; otherwise the re-index
    /// worker builds them.
    /// </summary>
    public async Task<(TypeInsertOutcome Outcome, ResourceTypeView? Stored)> InsertAsync(ResourceTypeView row, long cap)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (database.IsPostgres)
        {
            await ExecuteAsync(connection, transaction,
                "SELECT pg_advisory_xact_lock(hashtextextended('resource-types:' || @owner_id, 0)); SELECT pg_advisory_xact_lock(hashtextextended(@lock, 0))",
                c => c.With("owner_id", row.OwnerId).With("lock", LockKey(row.OwnerId, row.Name)));
        }

        if (await ScalarAsync(connection, transaction, "SELECT COUNT(*) FROM resource_types WHERE owner_id = @owner_id AND name = @name",
                c => c.With("owner_id", row.OwnerId).With("name", row.Name)) > 0)
        {
            return (TypeInsertOutcome.AlreadyExists, null);
        }

        if (await ScalarAsync(connection, transaction, "SELECT COUNT(*) FROM resource_types WHERE owner_id = @owner_id",
                c => c.With("owner_id", row.OwnerId)) >= cap)
        {
            return (TypeInsertOutcome.CapReached, null);
        }

        var inUse = await InUseAsync(connection, transaction, row.OwnerId, row.Name);
        var stored = row with { BuiltGen = inUse == 0 ? row.IndexGen : 0 };
        await using (var insert = connection.Command($"""
            INSERT INTO resource_types ({Columns})
            VALUES (@owner_id, @name, @schema, @max_bytes, @indexes, @require_if_match, @index_gen, @built_gen, @created_at, @updated_at, @version)
            """, transaction))
        {
            Bind(insert, stored).With("built_gen", stored.BuiltGen);
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return (TypeInsertOutcome.Inserted, stored);
    }

    /// <summary>
    /// Replaces the declaration if it is still at <paramref name="expectedVersion"/>; null otherwise. When the indexes
    /// change (<see cref="ResourceTypeView.IndexGen"/> moved) re-indexing starts over, unless no resource has the type.
    /// </summary>
    public async Task<ResourceTypeView?> UpdateAsync(ResourceTypeView row, long expectedVersion)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await LockAsync(connection, transaction, row.OwnerId, row.Name);
        var inUse = await InUseAsync(connection, transaction, row.OwnerId, row.Name);
        long? builtGen = null;
        await using (var update = connection.Command("""
            UPDATE resource_types SET schema = @schema, max_bytes = @max_bytes, indexes = @indexes, require_if_match = @require_if_match,
                built_gen = CASE WHEN index_gen = @index_gen THEN built_gen WHEN @in_use = 0 THEN @index_gen ELSE built_gen END,
                build_created_at = CASE WHEN index_gen = @index_gen THEN build_created_at END,
                build_id = CASE WHEN index_gen = @index_gen THEN build_id END,
                index_gen = @index_gen, updated_at = @updated_at, version = @version
            WHERE owner_id = @owner_id AND name = @name AND version = @expected
            RETURNING built_gen
            """, transaction))
        {
            Bind(update, row).With("in_use", inUse).With("expected", expectedVersion);
            await using var reader = await update.ExecuteReaderAsync();
            if (await reader.ReadAsync())
            {
                builtGen = reader.GetInt64(0);
            }
        }

        if (builtGen is null)
        {
            await transaction.RollbackAsync();
            return null;
        }

        await transaction.CommitAsync();
        return row with { BuiltGen = builtGen.Value };
    }

    /// <summary>Deletes the type unless resources still have it: (deleted, how many have it).</summary>
    public async Task<(bool Deleted, long InUse)> DeleteAsync(string ownerId, string name)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await LockAsync(connection, transaction, ownerId, name);
        // A fresh statement after the lock: it sees every write of this type that committed before the lock was granted.
        var inUse = await InUseAsync(connection, transaction, ownerId, name);
        if (inUse > 0)
        {
            await transaction.RollbackAsync();
            return (false, inUse);
        }

        await using var delete = connection.Command("DELETE FROM resource_types WHERE owner_id = @owner_id AND name = @name", transaction)
            .With("owner_id", ownerId).With("name", name);
        var deleted = await delete.ExecuteNonQueryAsync() == 1;
        await transaction.CommitAsync();
        return (deleted, 0);
    }

    /// <summary>The owner's types by name, one page, with the exact total.</summary>
    public async Task<(List<ResourceTypeView> Items, long Total)> ListAsync(string ownerId, int offset, int limit)
    {
        await using var connection = await database.OpenConnectionAsync();
        var items = new List<ResourceTypeView>();
        await using (var command = connection.Command(
            $"SELECT {Columns} FROM resource_types WHERE owner_id = @owner_id ORDER BY name LIMIT @limit OFFSET @offset")
            .With("owner_id", ownerId).With("limit", limit).With("offset", offset))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                items.Add(Read(reader));
            }
        }

        var total = await ScalarAsync(connection, null, "SELECT COUNT(*) FROM resource_types WHERE owner_id = @owner_id", c => c.With("owner_id", ownerId));
        return (items, total);
    }

    /// <summary>
    /// Re-indexes the next batch of one type whose indexes are being built, in one transaction: the type's row is
    /// locked (skipped when another silo holds it), the next <paramref name="batchSize"/> of its resources get their
    /// slot values from <paramref name="compute"/>, and the position moves on, or the build ends. A resource changed
    /// since it was read keeps what its own write stored (computed under the same declaration). Answers the type when a
    /// build finished with this batch, and whether there was anything to do.
    /// </summary>
    public async Task<(bool Worked, ResourceTypeView? Finished)> BuildNextAsync(int batchSize, Func<string, ResourceTypeView, string?[]> compute)
    {
        await using var connection = await database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        ResourceTypeView type;
        long? afterCreated;
        string? afterId;
        await using (var claim = connection.Command($"""
            SELECT {Columns}, build_created_at, build_id FROM resource_types WHERE built_gen < index_gen
            ORDER BY updated_at LIMIT 1{(database.IsPostgres ? " FOR NO KEY UPDATE SKIP LOCKED" : "")}
            """, transaction))
        await using (var reader = await claim.ExecuteReaderAsync())
        {
            if (!await reader.ReadAsync())
            {
                return (false, null);
            }

            type = Read(reader);
            afterCreated = reader.IsDBNull(11) ? null : reader.GetInt64(11);
            afterId = reader.IsDBNull(12) ? null : reader.GetString(12);
        }

        var rows = new List<(string Id, long Version, long CreatedAt, string?[] Slots)>();
        await using (var scan = connection.Command($"""
            SELECT id, version, created_at, metadata FROM resources
            WHERE owner_id = @owner_id AND type = @name{(afterId is null ? "" : " AND (created_at, id) > (@after_created, @after_id)")}
            ORDER BY created_at, id LIMIT @limit
            """, transaction))
        {
            scan.With("owner_id", type.OwnerId).With("name", type.Name).With("limit", batchSize);
            if (afterId is not null)
            {
                scan.With("after_created", afterCreated).With("after_id", afterId);
            }

            await using var reader = await scan.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), compute(reader.GetString(3), type)));
            }
        }

        if (database.IsPostgres && rows.Count > 0)
        {
            // One statement for the batch: the rows' ids, versions and slot values as arrays.
            await using var update = (Npgsql.NpgsqlCommand)connection.Command("""
                UPDATE resources r SET ix1 = v.ix1, ix2 = v.ix2, ix3 = v.ix3, ix4 = v.ix4, ix5 = v.ix5
                FROM unnest(@ids, @versions, @ix1s, @ix2s, @ix3s, @ix4s, @ix5s) AS v(id, version, ix1, ix2, ix3, ix4, ix5)
                WHERE r.id = v.id AND r.owner_id = @owner_id AND r.type = @name AND r.version = v.version
                """, transaction);
            update.With("owner_id", type.OwnerId).With("name", type.Name);
            update.Parameters.Add(new Npgsql.NpgsqlParameter<string[]>("ids", rows.Select(r => r.Id).ToArray()));
            update.Parameters.Add(new Npgsql.NpgsqlParameter<long[]>("versions", rows.Select(r => r.Version).ToArray()));
            for (var slot = 0; slot < ResourceTypeRules.MaxIndexes; slot++)
            {
                var index = slot;
                update.Parameters.Add(new Npgsql.NpgsqlParameter(ResourceIndexValues.Column(slot) + "s", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text)
                {
                    Value = rows.Select(r => (object?)r.Slots[index] ?? DBNull.Value).ToArray(),
                });
            }

            await update.ExecuteNonQueryAsync();
        }

        foreach (var row in database.IsPostgres ? [] : rows)
        {
            // SQLite: one statement per row on the connection already open (one writer, no round trips).
            await using var update = connection.Command("""
                UPDATE resources SET ix1 = @ix1, ix2 = @ix2, ix3 = @ix3, ix4 = @ix4, ix5 = @ix5
                WHERE id = @id AND owner_id = @owner_id AND type = @name AND version = @version
                """, transaction);
            update.With("id", row.Id).With("owner_id", type.OwnerId).With("name", type.Name).With("version", row.Version);
            BindSlots(update, row.Slots);
            await update.ExecuteNonQueryAsync();
        }

        var finished = rows.Count < batchSize;
        await using (var progress = connection.Command(finished
            ? "UPDATE resource_types SET built_gen = index_gen, build_created_at = NULL, build_id = NULL WHERE owner_id = @owner_id AND name = @name"
            : "UPDATE resource_types SET build_created_at = @after_created, build_id = @after_id WHERE owner_id = @owner_id AND name = @name",
            transaction))
        {
            progress.With("owner_id", type.OwnerId).With("name", type.Name);
            if (!finished)
            {
                progress.With("after_created", rows[^1].CreatedAt).With("after_id", rows[^1].Id);
            }

            await progress.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return (true, finished ? type with { BuiltGen = type.IndexGen } : null);
    }

    /// <summary>Binds <c>@ix1</c>..<c>@ix5</c>.</summary>
    public static DbCommand BindSlots(DbCommand command, IReadOnlyList<string?> slots)
    {
        for (var i = 0; i < ResourceTypeRules.MaxIndexes; i++)
        {
            command.With(ResourceIndexValues.Column(i), i < slots.Count ? slots[i] : null);
        }

        return command;
    }

    private async Task LockAsync(DbConnection connection, DbTransaction transaction, string ownerId, string name)
    {
        if (database.IsPostgres)
        {
            await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtextextended(@lock, 0))",
                c => c.With("lock", LockKey(ownerId, name)));
        }
    }

    private static Task<long> InUseAsync(DbConnection connection, DbTransaction transaction, string ownerId, string name) =>
        ScalarAsync(connection, transaction, "SELECT COALESCE(SUM(n), 0) FROM resource_counts WHERE owner_id = @owner_id AND type = @name",
            c => c.With("owner_id", ownerId).With("name", name));

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, Action<DbCommand> bind)
    {
        await using var command = connection.Command(sql, transaction);
        bind(command);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, Action<DbCommand> bind)
    {
        await using var command = connection.Command(sql, transaction);
        bind(command);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private static DbCommand Bind(DbCommand command, ResourceTypeView row) => command
        .With("owner_id", row.OwnerId)
        .With("name", row.Name)
        .With("schema", row.Schema)
        .With("max_bytes", row.MaxBytes)
        .With("indexes", JsonSerializer.Serialize(row.Indexes, IndexJson))
        .With("require_if_match", row.RequireIfMatch)
        .With("index_gen", row.IndexGen)
        .With("created_at", DbTime.Micros(row.CreatedAt))
        .With("updated_at", DbTime.Micros(row.UpdatedAt))
        .With("version", row.Version);

    private static ResourceTypeView Read(DbDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.IsDBNull(2) ? null : reader.GetString(2),
        reader.IsDBNull(3) ? null : Convert.ToInt32(reader.GetValue(3), CultureInfo.InvariantCulture),
        JsonSerializer.Deserialize<List<IndexedField>>(reader.GetString(4), IndexJson) ?? [],
        reader.GetBoolean(5),
        reader.GetInt64(6),
        reader.GetInt64(7),
        DbTime.FromMicros(reader.GetInt64(8)),
        DbTime.FromMicros(reader.GetInt64(9)),
        reader.GetInt64(10));
}
