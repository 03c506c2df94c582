using System.Data.Common;
using System.Globalization;
using System.Text;
using ApiPlatform.Grains.Storage;
using Npgsql;
using NpgsqlTypes;

namespace ApiPlatform.Grains.Events;

/// <summary>
/// The read side of the event log and its bookkeeping: lists and single events for the API, the log after a position
/// (resume and gap filling), the acknowledgement positions, the sweep's question (whose events stayed
/// unacknowledged) and the retention purge.
/// </summary>
public sealed class EventStore(Database database)
{
    private const string Columns = "id, owner_id, seq, type, payload, created_at, deliver";

    public async Task<EventPage> ListAsync(EventQuery query)
    {
        await using var command = database.CreateCommand();
        var where = new StringBuilder("owner_id = @owner_id");
        command.With("owner_id", query.OwnerId);
        if (query.Type is not null)
        {
            where.Append(" AND type = @type");
            command.With("type", query.Type);
        }

        if (query.CreatedAfter is { } after)
        {
            where.Append(" AND created_at > @after");
            command.With("after", DbTime.Micros(after));
        }

        if (query.CreatedBefore is { } before)
        {
            where.Append(" AND created_at < @before");
            command.With("before", DbTime.Micros(before));
        }

        var filtered = where.ToString();
        if (query.After is { } cursor)
        {
            where.Append(" AND seq < @c_seq");
            command.With("c_seq", cursor.Seq);
        }

        // The total: from the per-type counters when only the type narrows it; a range is counted on its index.
        var total = query.CreatedAfter is null && query.CreatedBefore is null
            ? "SELECT COALESCE(SUM(n), 0) FROM event_counts WHERE owner_id = @owner_id" + (query.Type is null ? "" : " AND type = @type")
            : $"SELECT COUNT(*) FROM events WHERE {filtered}";
        command.CommandText = $"SELECT {Columns} FROM events WHERE {where} ORDER BY seq DESC LIMIT @limit OFFSET @offset;\n{total}";
        command.With("limit", query.Limit + 1);
        command.With("offset", query.After is null ? query.Offset : 0);

        var items = new List<EventEnvelope>(query.Limit + 1);
        long count;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                items.Add(Read(reader));
            }

            await reader.NextResultAsync();
            await reader.ReadAsync();
            count = Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
        }

        EventCursor? next = null;
        if (items.Count > query.Limit)
        {
            items.RemoveAt(items.Count - 1);
            next = new EventCursor(items[^1].Seq);
        }

        return new EventPage(items, count, next);
    }

    public async Task<EventEnvelope?> GetAsync(string ownerId, string eventId)
    {
        await using var command = database.CreateCommand($"SELECT {Columns} FROM events WHERE id = @id AND owner_id = @owner_id");
        await using var reader = await command.With("id", eventId).With("owner_id", ownerId).ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    /// <summary>The owner's events after <paramref name="afterSeq"/>, in log order.</summary>
    public async Task<IReadOnlyList<EventEnvelope>> ReadAfterAsync(string ownerId, long afterSeq, int limit)
    {
        await using var command = database.CreateCommand(
            $"SELECT {Columns} FROM events WHERE owner_id = @owner_id AND seq > @after ORDER BY seq LIMIT @limit");
        await using var reader = await command.With("owner_id", ownerId).With("after", afterSeq).With("limit", limit).ExecuteReaderAsync();
        var items = new List<EventEnvelope>();
        while (await reader.ReadAsync())
        {
            items.Add(Read(reader));
        }

        return items;
    }

    /// <summary>The number of the owner's last committed event (0: none yet).</summary>
    public async Task<long> HeadAsync(string ownerId)
    {
        await using var command = database.CreateCommand("SELECT last_seq FROM event_owners WHERE owner_id = @owner_id");
        return await command.With("owner_id", ownerId).ExecuteScalarAsync() is { } value and not DBNull
            ? Convert.ToInt64(value, CultureInfo.InvariantCulture)
            : 0;
    }

    /// <summary>How far the owner's events were acknowledged (0: none yet).</summary>
    public async Task<long> AcknowledgedAsync(string ownerId)
    {
        await using var command = database.CreateCommand("SELECT acked_seq FROM event_acks WHERE owner_id = @owner_id");
        return await command.With("owner_id", ownerId).ExecuteScalarAsync() is { } value and not DBNull
            ? Convert.ToInt64(value, CultureInfo.InvariantCulture)
            : 0;
    }

    /// <summary>Moves the owners' acknowledged positions forward (never back), all in one statement.</summary>
    public async Task AcknowledgeAsync(IReadOnlyCollection<KeyValuePair<string, long>> positions)
    {
        if (positions.Count == 0)
        {
            return;
        }

        await using var connection = await database.OpenConnectionAsync();
        if (database.IsPostgres)
        {
            await using var command = (NpgsqlCommand)connection.Command(AcknowledgeSql(database.Dialect, "SELECT * FROM unnest(@owners, @seqs) AS t(owner_id, acked_seq) ORDER BY owner_id"));
            command.Parameters.Add(new NpgsqlParameter<string[]>("owners", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = positions.Select(p => p.Key).ToArray() });
            command.Parameters.Add(new NpgsqlParameter<long[]>("seqs", positions.Select(p => p.Value).ToArray()));
            await command.ExecuteNonQueryAsync();
            return;
        }

        await using var transaction = await connection.BeginTransactionAsync();
        foreach (var (owner, seq) in positions)
        {
            await using var command = connection.Command(AcknowledgeSql(database.Dialect, "SELECT @owner_id, @seq"), transaction).With("owner_id", owner).With("seq", seq);
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    /// <summary>An upsert of <c>event_acks</c> from <paramref name="source"/> (rows of owner id and position) that never moves one back.</summary>
    public static string AcknowledgeSql(SqlDialect dialect, string source) => $"""
        INSERT INTO event_acks (owner_id, acked_seq) {source}
        {(dialect == SqlDialect.Sqlite ? "WHERE TRUE " : "")}ON CONFLICT (owner_id) DO UPDATE SET acked_seq = {(dialect == SqlDialect.Postgres ? "GREATEST" : "MAX")}(event_acks.acked_seq, excluded.acked_seq)
        """;

    /// <summary>
    /// Owners whose log runs past their acknowledged position, with the first unacknowledged event of each, oldest
    /// first (at most <paramref name="limit"/>).
    /// </summary>
    public async Task<IReadOnlyList<EventEnvelope>> UnacknowledgedAsync(int limit)
    {
        await using var command = database.CreateCommand($"""
            SELECT e.id, e.owner_id, e.seq, e.type, e.payload, e.created_at, e.deliver
            FROM event_owners o
            LEFT JOIN event_acks a ON a.owner_id = o.owner_id
            JOIN events e ON e.owner_id = o.owner_id AND e.seq = COALESCE(a.acked_seq, 0) + 1
            WHERE o.last_seq > COALESCE(a.acked_seq, 0)
            ORDER BY e.created_at
            LIMIT @limit
            """);
        await using var reader = await command.With("limit", limit).ExecuteReaderAsync();
        var items = new List<EventEnvelope>();
        while (await reader.ReadAsync())
        {
            items.Add(Read(reader));
        }

        return items;
    }

    /// <summary>Deletes up to <paramref name="batch"/> events created before <paramref name="cutoff"/>; answers how many.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset cutoff, int batch)
    {
        var sql = database.IsPostgres
            ? "DELETE FROM events WHERE ctid IN (SELECT ctid FROM events WHERE created_at < @cutoff LIMIT @batch)"
            : "DELETE FROM events WHERE (owner_id, seq) IN (SELECT owner_id, seq FROM events WHERE created_at < @cutoff LIMIT @batch)";
        await using var command = database.CreateCommand(sql);
        return await command.With("cutoff", DbTime.Micros(cutoff)).With("batch", batch).ExecuteNonQueryAsync();
    }

    private static EventEnvelope Read(DbDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4),
        DbTime.FromMicros(reader.GetInt64(5)), reader.GetBoolean(6));
}
