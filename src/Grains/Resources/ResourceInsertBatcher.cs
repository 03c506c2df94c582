using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Telemetry;
using Npgsql;
using NpgsqlTypes;
using ApiPlatform.Grains.Storage;

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
/// <para>
/// The queue is bounded (<see cref="DefaultMaxQueued"/>): when the database falls behind, a create beyond it is
/// answered <see cref="InsertOutcome.Overloaded"/> at once (the API sheds it with 503 and <c>Retry-After</c>) instead of
/// waiting in memory behind thousands of others. A create whose caller cancelled (went away or timed out) while it was
/// still queued is dropped before it is sent, so nothing is written for a request that was already answered.
/// </para>
/// </remarks>
public sealed class ResourceInsertBatcher(
    Database database, Func<ResourceView, long, NewEvent?, ResourceWriteGuard, Task<InsertOutcome>> insertAlone, EventLog events,
    int maxQueued = ResourceInsertBatcher.DefaultMaxQueued)
{
    /// <summary>Creates waiting for a group on one silo at most: a few full groups, well under a second of work.</summary>
    public const int DefaultMaxQueued = 1024;

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

    private sealed record Pending(ResourceView Row, long Cap, NewEvent? Event, ResourceWriteGuard Guard)
    {
        public TaskCompletionSource<InsertOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Cancellation { get; set; }
    }

    /// <summary>Creates waiting for a group now (cancelled ones included until a group skips them).</summary>
    public int Queued
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    public Task<InsertOutcome> InsertAsync(ResourceView row, long cap, NewEvent? @event, ResourceWriteGuard guard, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<InsertOutcome>(cancellationToken);
        }

        var pending = new Pending(row, cap, @event, guard);
        bool start;
        lock (_gate)
        {
            if (_queue.Count >= maxQueued)
            {
                return Task.FromResult(InsertOutcome.Overloaded);
            }

            _queue.Enqueue(pending);
            start = MaySend(others: _inFlight);
            if (start)
            {
                _inFlight++;
            }
        }

        if (cancellationToken.CanBeCanceled)
        {
            // Only while queued: a group takes the row under _gate and completes the registration's race by setting
            // the outcome, so a row already at the database is answered with what the database did.
            pending.Cancellation = cancellationToken.Register(static state =>
            {
                var (p, token) = ((Pending, CancellationToken))state!;
                p.Done.TrySetCanceled(token);
            }, (pending, cancellationToken));
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
                    // Cancelled while queued: its caller has its answer already; it must not be written.
                    if (!next.Done.Task.IsCompleted)
                    {
                        group.Add(next);
                    }
                }
            }

            // From here on a row is written whatever its caller does; its answer is what the database did.
            foreach (var p in group)
            {
                p.Cancellation.Dispose();
            }

            group.RemoveAll(p => p.Done.Task.IsCompleted);
            if (group.Count > 0)
            {
                await WriteGroupAsync(group);
            }
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
                p.Done.TrySetResult(await insertAlone(p.Row, p.Cap, p.Event, p.Guard));
            }
            catch (Exception e)
            {
                p.Done.TrySetException(e);
            }
        }));
    }

    // One round trip, one implicit transaction: the types' shared locks and the owners' locks, each in a fixed order
    // (so two groups cannot deadlock), then one statement that inserts the rows whose type is still at the version they
    // were checked under and that fit under their owners' caps, and the events of those rows, numbered in their owners'
    // logs. The statement's snapshot is taken after the locks are held, so it sees every create and every type change
    // that committed before them.
    private readonly string _groupSql = $"""
        SELECT pg_advisory_xact_lock_shared(hashtextextended(k, 0)) FROM (SELECT DISTINCT unnest(@type_locks) AS k ORDER BY 1) types;
        SELECT pg_advisory_xact_lock(hashtextextended(o, 0)) FROM (SELECT DISTINCT unnest(@owner_ids) AS o ORDER BY 1) owners;
        WITH input AS (
            SELECT * FROM unnest(@ids, @owner_ids, @names, @descriptions, @types, @statuses, @metadatas, @created, @caps,
                                 @evt_ids, @evt_types, @evt_payloads, @type_versions, @ix1s, @ix2s, @ix3s, @ix4s, @ix5s)
                WITH ORDINALITY AS t(id, owner_id, name, description, type, status, metadata, created_at, cap,
                                     evt_id, evt_type, evt_payload, type_version, ix1, ix2, ix3, ix4, ix5, ord)
        ),
        -- A row whose type changed since it was checked is left out; the single-row path answers it ("type changed").
        typed AS (
            SELECT input.* FROM input
            WHERE (SELECT rt.version FROM resource_types rt WHERE rt.owner_id = input.owner_id AND rt.name = input.type)
                  IS NOT DISTINCT FROM input.type_version::bigint
        ),
        -- The same id twice in a group (a retry overlapping its first attempt): only the first goes in; the rest
        -- are answered by the single-row path ("already exists").
        first AS (
            SELECT DISTINCT ON (id) * FROM typed ORDER BY id, ord
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
            INSERT INTO resources (id, owner_id, name, description, type, status, metadata, created_at, updated_at, version, ix1, ix2, ix3, ix4, ix5)
            SELECT id, owner_id, name, description, type, status, metadata, created_at, created_at, 1, ix1, ix2, ix3, ix4, ix5 FROM fits ORDER BY ord
            ON CONFLICT (id) DO NOTHING
            RETURNING id
        ),
        {events.InsertCtes("""
            SELECT f.evt_id AS id, f.owner_id, f.evt_type AS type, f.evt_payload AS payload, f.created_at, f.ord
            FROM fits f JOIN ins ON ins.id = f.id WHERE f.evt_id IS NOT NULL
            """)}
        SELECT ins.id, evt.seq, evt.deliver FROM ins JOIN fits f ON f.id = ins.id LEFT JOIN evt ON evt.id = f.evt_id
        """;

    private async Task<HashSet<string>> InsertGroupAsync(List<Pending> group)
    {
        await using var command = (NpgsqlCommand)database.CreateCommand(_groupSql);
        var p = command.Parameters;
        p.Add(Text("ids", group, x => x.Row.Id));
        p.Add(Text("owner_ids", group, x => x.Row.OwnerId));
        p.Add(Text("names", group, x => x.Row.Name));
        p.Add(Text("descriptions", group, x => x.Row.Description));
        p.Add(Text("types", group, x => x.Row.Type));
        p.Add(Text("statuses", group, x => x.Row.Status));
        p.Add(Text("metadatas", group, x => x.Row.Metadata));
        p.Add(new NpgsqlParameter<long[]>("created", group.Select(x => DbTime.Micros(x.Row.CreatedAt)).ToArray()));
        p.Add(new NpgsqlParameter<long[]>("caps", group.Select(x => x.Cap).ToArray()));
        p.Add(Text("evt_ids", group, x => x.Event?.Id));
        p.Add(Text("evt_types", group, x => x.Event?.Type));
        p.Add(Text("evt_payloads", group, x => x.Event?.Payload));
        p.Add(Text("type_locks", group, x => ResourceTypeStore.LockKey(x.Row.OwnerId, x.Row.Type)));
        p.Add(Text("type_versions", group, x => x.Guard.TypeVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        for (var slot = 0; slot < ResourceTypeRules.MaxIndexes; slot++)
        {
            var s = slot;
            p.Add(Text(ResourceIndexValues.Column(slot) + "s", group, x => x.Guard.Slots[s]));
        }

        Interlocked.Increment(ref _groups);
        Interlocked.Add(ref _groupedRows, group.Count);
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        var numbered = new Dictionary<string, (long Seq, bool Deliver)>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            await reader.NextResultAsync(); // past the types' locks
            await reader.NextResultAsync(); // past the owners' locks
            while (await reader.ReadAsync())
            {
                var id = reader.GetString(0);
                inserted.Add(id);
                if (!reader.IsDBNull(1))
                {
                    numbered[id] = (reader.GetInt64(1), reader.GetBoolean(2));
                }
            }
        }

        // Committed (one implicit transaction): publish what the group wrote, in each owner's log order.
        var committed = new List<EventEnvelope>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pending in group)
        {
            if (pending.Event is { } e && numbered.TryGetValue(pending.Row.Id, out var n) && seen.Add(pending.Row.Id))
            {
                committed.Add(e.At(n.Seq, n.Deliver));
            }
        }

        events.Published(committed);
        return inserted;
    }

    private static NpgsqlParameter<string?[]> Text(string name, List<Pending> group, Func<Pending, string?> value) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = group.Select(value).ToArray() };
}
