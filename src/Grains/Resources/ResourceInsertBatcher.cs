using System.Data.Common;
using ApiPlatform.Grains.Telemetry;
using ApiPlatform.Grains.Webhooks;
using Npgsql;
using NpgsqlTypes;

namespace ApiPlatform.Grains.Resources;

/// <summary>
/// Group commit for creates on PostgreSQL. Creates that arrive while an insert is on its way to the database wait
/// and go together in the next one: one round trip, one transaction and one per-owner lock for the whole group
/// instead of one each. A create is answered only after the transaction holding its row has committed, so
/// "acknowledged = stored" holds exactly as for a lone insert. Nothing waits on a timer: an idle silo sends a lone
/// create at once, and groups only form when creates really overlap.
/// </summary>
/// <remarks>
/// The plan cap stays exact. Each owner's rows in a group are numbered in arrival order and only those that fit under
/// the owner's cap are inserted, under the same per-owner advisory lock a lone insert takes. The numbering counts every
/// row of the group, so it can refuse one that would have fitted (when another row of the group is a duplicate id);
/// every row the group did not insert is therefore retried alone on the exact single-row path, which answers
/// "duplicate" or "cap reached" precisely. If the group's statement fails on its data (a <see cref="PostgresException"/>
/// other than a lost connection), each row is retried alone too, so one bad row cannot fail its neighbours.
/// </remarks>
public sealed class ResourceInsertBatcher(
    DbDataSource dataSource, Func<ResourceView, long, OutboxEvent?, Task<InsertOutcome>> insertAlone, Action eventWritten)
{
    /// <summary>Most rows sent in one group.</summary>
    public const int MaxGroup = 128;

    /// <summary>
    /// Groups in flight at once. A second group goes out only while at least <see cref="SecondGroupAt"/> rows wait:
    /// below that, a second group would mostly queue on the owners' locks the first one holds, and be smaller.
    /// </summary>
    public const int MaxInFlight = 2;

    /// <summary>Rows waiting that justify a second group in flight (the first one is full or nearly).</summary>
    public const int SecondGroupAt = MaxGroup / 2;

    private readonly object _gate = new();
    private readonly Queue<Pending> _queue = new();
    private int _inFlight;
    private long _groups;
    private long _groupedRows;

    /// <summary>Groups of two or more rows sent so far, and the rows in them (for tests and diagnostics).</summary>
    public (long Groups, long Rows) Grouped => (Interlocked.Read(ref _groups), Interlocked.Read(ref _groupedRows));

    private sealed record Pending(ResourceView Row, long Cap, OutboxEvent? Event)
    {
        public TaskCompletionSource<InsertOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public Task<InsertOutcome> InsertAsync(ResourceView row, long cap, OutboxEvent? @event)
    {
        var pending = new Pending(row, cap, @event);
        bool start;
        lock (_gate)
        {
            _queue.Enqueue(pending);
            start = MaySend(others: _inFlight);
            if (start)
            {
                _inFlight++;
            }
        }

        if (start)
        {
            _ = Task.Run(DrainAsync);
        }

        return pending.Done.Task;
    }

    // Under _gate: whether a group should go out now, with `others` groups already in flight. A loop that is not
    // needed ends; the one still in flight takes the queue along when it returns.
    private bool MaySend(int others) =>
        _queue.Count > 0 && (others == 0 || (others < MaxInFlight && _queue.Count >= SecondGroupAt));

    private async Task DrainAsync()
    {
        while (true)
        {
            List<Pending> group;
            lock (_gate)
            {
                if (!MaySend(others: _inFlight - 1))
                {
                    _inFlight--;
                    return;
                }

                group = new List<Pending>(Math.Min(_queue.Count, MaxGroup));
                while (group.Count < MaxGroup && _queue.TryDequeue(out var next))
                {
                    group.Add(next);
                }
            }

            await WriteGroupAsync(group);
        }
    }

    private async Task WriteGroupAsync(List<Pending> group)
    {
        HashSet<string> inserted;
        ApiTelemetry.GroupCommitted(group.Count);
        try
        {
            inserted = group.Count == 1 ? [] : await InsertGroupAsync(group);
        }
        catch (PostgresException e) when (!e.IsTransient)
        {
            inserted = []; // retried one by one below, so only the offending row fails
        }
        catch (Exception e)
        {
            foreach (var p in group)
            {
                p.Done.TrySetException(e);
            }

            return;
        }

        // Rows the group did not insert (and a group of one) take the exact single-row path, concurrently. Of several
        // rows with one id, the group inserted the first (Remove answers true once).
        await Task.WhenAll(group.Select(async p =>
        {
            if (inserted.Remove(p.Row.Id))
            {
                p.Done.TrySetResult(InsertOutcome.Inserted);
                return;
            }

            try
            {
                p.Done.TrySetResult(await insertAlone(p.Row, p.Cap, p.Event));
            }
            catch (Exception e)
            {
                p.Done.TrySetException(e);
            }
        }));
    }

    // One round trip, one implicit transaction: the owners' locks in a fixed order (so two groups cannot deadlock),
    // then one statement that inserts the rows that fit under their owners' caps and the outbox events of those rows
    // that someone subscribes to. The second statement's snapshot is taken after the locks are held, so it sees every
    // create that committed before them.
    private static readonly string GroupSql = $"""
        SELECT pg_advisory_xact_lock(hashtextextended(o, 0)) FROM (SELECT DISTINCT unnest(@owner_ids) AS o ORDER BY 1) owners;
        WITH input AS (
            SELECT * FROM unnest(@ids, @owner_ids, @names, @descriptions, @types, @statuses, @metadatas, @created, @caps,
                                 @evt_ids, @evt_types, @evt_payloads, @evt_patterns)
                WITH ORDINALITY AS t(id, owner_id, name, description, type, status, metadata, created_at, cap,
                                     evt_id, evt_type, evt_payload, evt_pattern, ord)
        ),
        -- The same id twice in a group (a retry overlapping its first attempt): only the first goes in; the rest
        -- are answered by the single-row path ("already exists").
        first AS (
            SELECT DISTINCT ON (id) * FROM input ORDER BY id, ord
        ),
        held AS (
            SELECT o.owner_id, (SELECT COALESCE(SUM(n), 0) FROM resource_counts c WHERE c.owner_id = o.owner_id) AS n
            FROM (SELECT DISTINCT owner_id FROM first) o
        ),
        fits AS (
            SELECT i.* FROM (
                SELECT first.*, row_number() OVER (PARTITION BY first.owner_id ORDER BY first.ord) AS rank FROM first
            ) i JOIN held h ON h.owner_id = i.owner_id
            WHERE h.n + i.rank <= i.cap
        ),
        ins AS (
            INSERT INTO resources (id, owner_id, name, description, type, status, metadata, created_at, updated_at, version)
            SELECT id, owner_id, name, description, type, status, metadata, created_at, created_at, 1 FROM fits ORDER BY ord
            ON CONFLICT (id) DO NOTHING
            RETURNING id
        ),
        evt AS (
            INSERT INTO events_outbox (id, owner_id, type, payload, created_at)
            SELECT f.evt_id, f.owner_id, f.evt_type, f.evt_payload, f.created_at FROM fits f JOIN ins ON ins.id = f.id
            WHERE f.evt_id IS NOT NULL AND {WebhookEvents.SubscribedCondition("f.owner_id", "f.evt_pattern")}
            RETURNING 1
        )
        SELECT id, EXISTS (SELECT 1 FROM evt) FROM ins
        """;

    private async Task<HashSet<string>> InsertGroupAsync(List<Pending> group)
    {
        await using var command = (NpgsqlCommand)dataSource.CreateCommand(GroupSql);
        var p = command.Parameters;
        p.Add(Text("ids", group, x => x.Row.Id));
        p.Add(Text("owner_ids", group, x => x.Row.OwnerId));
        p.Add(Text("names", group, x => x.Row.Name));
        p.Add(Text("descriptions", group, x => x.Row.Description));
        p.Add(Text("types", group, x => x.Row.Type));
        p.Add(Text("statuses", group, x => x.Row.Status));
        p.Add(Text("metadatas", group, x => x.Row.Metadata));
        p.Add(new NpgsqlParameter<long[]>("created", group.Select(x => ResourceStore.Micros(x.Row.CreatedAt)).ToArray()));
        p.Add(new NpgsqlParameter<long[]>("caps", group.Select(x => x.Cap).ToArray()));
        p.Add(Text("evt_ids", group, x => x.Event?.Id));
        p.Add(Text("evt_types", group, x => x.Event?.Type));
        p.Add(Text("evt_payloads", group, x => x.Event?.Payload));
        p.Add(Text("evt_patterns", group, x => x.Event is { } e ? WebhookEvents.SubscriptionPattern(e.Type) : null));

        Interlocked.Increment(ref _groups);
        Interlocked.Add(ref _groupedRows, group.Count);
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.NextResultAsync(); // past the locks
        var eventsWritten = false;
        while (await reader.ReadAsync())
        {
            inserted.Add(reader.GetString(0));
            eventsWritten |= reader.GetBoolean(1);
        }

        if (eventsWritten)
        {
            eventWritten();
        }

        return inserted;
    }

    private static NpgsqlParameter<string?[]> Text(string name, List<Pending> group, Func<Pending, string?> value) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = group.Select(value).ToArray() };
}
