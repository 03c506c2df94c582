using System.Data.Common;
using ApiPlatform.Grains.Storage;
using Npgsql;

namespace ApiPlatform.Grains.Events;

/// <summary>
/// Which of an owner's events some consumer must act on, decided in the event's own transaction: the webhook feature
/// supplies it (an enabled endpoint subscribed to the type), so the event module needs no knowledge of webhooks.
/// </summary>
public interface IEventSubscriptions
{
    /// <summary>A SQL boolean over the owner id and event type expressions given.</summary>
    string ConditionSql(string ownerIdExpression, string typeExpression);

    /// <summary>
    /// The owner's log ended at <paramref name="finalSeq"/> (the owner was deleted): in the caller's transaction, the
    /// owner's subscriptions stop after that event and nothing of theirs is retried. Answers the subscriptions' ids.
    /// </summary>
    Task<IReadOnlyList<string>> CloseOwnerAsync(DbConnection connection, DbTransaction transaction, string ownerId, long finalSeq, DateTimeOffset now);

    /// <summary>
    /// After <see cref="CloseOwnerAsync"/> committed: whatever holds the owner's subscriptions in memory drops the
    /// retries it scheduled. Idempotent, so a workflow resumed after a crash calls it again.
    /// </summary>
    Task OwnerClosedAsync(Database database, IGrainFactory grains, string ownerId);
}

/// <summary>Hands committed events to the streams (after the commit, never inside the transaction).</summary>
public interface IEventPublisher
{
    /// <summary>Publishes in the background: the caller does not wait, and a lost publication is the sweep's to repeat.</summary>
    void Publish(IReadOnlyList<EventEnvelope> events);
}

/// <summary>
/// The write side of the event log, shared by every feature that changes something: events are written in the
/// change's own transaction (the transactional outbox), numbered per owner in commit order, and published after the
/// commit. Owners' numbers come from <c>event_owners</c>: its row is updated in the transaction and stays locked until
/// the commit, so a committed number implies every smaller one committed first.
/// </summary>
public sealed class EventLog(Database database, IEventSubscriptions? subscriptions = null, IEventPublisher? publisher = null)
{
    /// <summary>SQL true when an event of this owner and type has a consumer that must act on it (see <see cref="IEventSubscriptions"/>).</summary>
    public string DeliverCondition(string ownerIdExpression, string typeExpression) =>
        subscriptions?.ConditionSql(ownerIdExpression, typeExpression) ?? "FALSE";

    /// <summary>
    /// CTEs that number and insert the events of <paramref name="source"/> (a relation with columns <c>id, owner_id,
    /// type, payload, created_at, ord</c>; <c>ord</c> orders an owner's events). They end in <c>evt</c>, which
    /// returns <c>id, owner_id, seq, deliver</c> of each event. PostgreSQL only; for statements that write the change
    /// and its events together (group commit).
    /// </summary>
    public string InsertCtes(string source) => $"""
        evt_numbered AS (
            SELECT src.*, row_number() OVER (PARTITION BY src.owner_id ORDER BY src.ord) AS k,
                   count(*) OVER (PARTITION BY src.owner_id) AS n
            FROM ({source}) src
        ),
        evt_seqs AS (
            -- In owner order, as every writer locks them, so two transactions cannot deadlock on these rows.
            INSERT INTO event_owners (owner_id, last_seq)
            SELECT owner_id, count(*) FROM evt_numbered GROUP BY owner_id ORDER BY owner_id
            ON CONFLICT (owner_id) DO UPDATE SET last_seq = event_owners.last_seq + excluded.last_seq
            RETURNING owner_id, last_seq
        ),
        evt AS (
            INSERT INTO events (owner_id, seq, id, type, payload, created_at, deliver)
            SELECT m.owner_id, s.last_seq - m.n + m.k, m.id, m.type, m.payload, m.created_at, {DeliverCondition("m.owner_id", "m.type")}
            FROM evt_numbered m JOIN evt_seqs s ON s.owner_id = m.owner_id
            RETURNING id, owner_id, seq, deliver
        )
        """;

    /// <summary>Writes <paramref name="events"/> in the caller's transaction; answers them as committed (seq, deliver).</summary>
    public async Task<IReadOnlyList<EventEnvelope>> WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<NewEvent> events)
    {
        if (events.Count == 0)
        {
            return [];
        }

        var written = new Dictionary<string, (long Seq, bool Deliver)>(StringComparer.Ordinal);
        if (database.IsPostgres)
        {
            var sql = "WITH " + InsertCtes("""
                SELECT * FROM unnest(@ids, @owner_ids, @types, @payloads, @created)
                    WITH ORDINALITY AS t(id, owner_id, type, payload, created_at, ord)
                """) + "\nSELECT id, seq, deliver FROM evt";
            await using var command = (NpgsqlCommand)connection.Command(sql, transaction);
            command.Parameters.Add(SqlCommandExtensions.Texts("ids", events.Select(e => e.Id)));
            command.Parameters.Add(SqlCommandExtensions.Texts("owner_ids", events.Select(e => e.OwnerId)));
            command.Parameters.Add(SqlCommandExtensions.Texts("types", events.Select(e => e.Type)));
            command.Parameters.Add(SqlCommandExtensions.Texts("payloads", events.Select(e => e.Payload)));
            command.Parameters.Add(new NpgsqlParameter<long[]>("created", events.Select(e => DbTime.Micros(e.CreatedAt)).ToArray()));
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                written[reader.GetString(0)] = (reader.GetInt64(1), reader.GetBoolean(2));
            }
        }
        else
        {
            // One writer at a time: numbering in statement order is commit order. The two statements are compiled once
            // for all the events (a group of creates writes one each), not once per event.
            await using var next = connection.Command("""
                INSERT INTO event_owners (owner_id, last_seq) VALUES (@owner_id, 1)
                ON CONFLICT (owner_id) DO UPDATE SET last_seq = last_seq + 1
                RETURNING last_seq
                """, transaction);
            await using var insert = connection.Command($"""
                INSERT INTO events (owner_id, seq, id, type, payload, created_at, deliver)
                VALUES (@owner_id, @seq, @id, @type, @payload, @created_at, {DeliverCondition("@owner_id", "@type")})
                RETURNING deliver
                """, transaction);
            foreach (var e in events)
            {
                next.Parameters.Clear();
                var seq = Convert.ToInt64(await next.With("owner_id", e.OwnerId).ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
                insert.Parameters.Clear();
                insert.With("owner_id", e.OwnerId).With("seq", seq).With("id", e.Id).With("type", e.Type).With("payload", e.Payload)
                    .With("created_at", DbTime.Micros(e.CreatedAt));
                var deliver = Convert.ToBoolean(await insert.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
                written[e.Id] = (seq, deliver);
            }
        }

        return events.Select(e => written.TryGetValue(e.Id, out var w) ? e.At(w.Seq, w.Deliver) : throw new InvalidOperationException($"Event {e.Id} was not written."))
            .ToList();
    }

    /// <summary>
    /// Writes <paramref name="last"/>, the owner's final event, in the caller's transaction and closes the owner's
    /// subscriptions at it (see <see cref="IEventSubscriptions.CloseOwnerAsync"/>). Answers the event as committed
    /// (publish it after the commit) and the ids of the subscriptions closed.
    /// </summary>
    public async Task<(IReadOnlyList<EventEnvelope> Written, IReadOnlyList<string> Closed)> WriteLastAsync(
        DbConnection connection, DbTransaction transaction, NewEvent last)
    {
        var written = await WriteAsync(connection, transaction, [last]);
        var closed = subscriptions is null
            ? []
            : await subscriptions.CloseOwnerAsync(connection, transaction, last.OwnerId, written[0].Seq, last.CreatedAt);
        return (written, closed);
    }

    /// <summary>After the owner's last event committed (<see cref="WriteLastAsync"/>): see <see cref="IEventSubscriptions.OwnerClosedAsync"/>.</summary>
    public Task OwnerClosedAsync(IGrainFactory grains, string ownerId) =>
        subscriptions is null ? Task.CompletedTask : subscriptions.OwnerClosedAsync(database, grains, ownerId);

    /// <summary>
    /// Writes the events in the caller's transaction, commits it, and publishes them. Every change that produces
    /// events and has nothing else to do after its commit ends here.
    /// </summary>
    public async Task CommitAsync(DbConnection connection, DbTransaction transaction, params IReadOnlyList<NewEvent> events)
    {
        var written = await WriteAsync(connection, transaction, events);
        await transaction.CommitAsync();
        Published(written);
    }

    /// <summary>Hands committed events to the streams (called right after the commit).</summary>
    public void Published(IReadOnlyList<EventEnvelope> committed)
    {
        if (committed.Count > 0)
        {
            publisher?.Publish(committed);
        }
    }
}
