using ApiPlatform.Grains;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Grains.Storage;
using ApiPlatform.Grains.Webhooks;
using Npgsql;

namespace ApiPlatform.StorageTests;

/// <summary>
/// Creates on PostgreSQL go through the group commit (<see cref="ResourceInsertBatcher"/>): many overlapping creates
/// share one statement. These tests hold it to what a lone insert guarantees: exact caps, one row per id, a bad row
/// failing alone, counters equal to the rows, and every event in its owner's log, numbered without gaps.
/// </summary>
public sealed class PostgresResourceStoreTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 15, 10, 0, 0, TimeSpan.Zero);

    private static ResourceView Row(string ownerId, string? id = null, string name = "n", string type = "standard", string status = "active") =>
        new(id ?? Ids.New(Ids.Resource), ownerId, name, null, type, status, "{}", Now, Now, 1);

    /// <summary>A migrated database of its own and a store over it, dropped on dispose.</summary>
    private sealed class Scope : IAsyncDisposable
    {
        private PostgresTestDatabase _database = null!;

        public NpgsqlDataSource DataSource { get; private set; } = null!;

        public ResourceStore Store { get; private set; } = null!;

        public static async Task<Scope> CreateAsync(int maxQueued = ResourceInsertBatcher.DefaultMaxQueued, Action<NpgsqlConnectionStringBuilder>? configure = null)
        {
            var ct = TestContext.Current.CancellationToken;
            var database = await PostgresTestDatabase.CreateAsync(ct);
            await DatabaseMigrator.MigratePostgresAsync(database.ConnectionString, null, ct);
            var connectionString = new NpgsqlConnectionStringBuilder(database.ConnectionString);
            configure?.Invoke(connectionString);
            var dataSource = NpgsqlDataSource.Create(connectionString.ConnectionString);
            var store = new Database(dataSource, SqlDialect.Postgres);
            return new Scope { _database = database, DataSource = dataSource, Store = new ResourceStore(store, new EventLog(store, new WebhookSubscriptions()), maxQueued) };
        }

        /// <summary>The owner's rows in <c>resources</c>.</summary>
        public Task<long> RowsAsync(string ownerId) => ScalarAsync("SELECT count(*) FROM resources WHERE owner_id = @owner", ownerId);

        public async Task<long> ScalarAsync(string sql, string ownerId)
        {
            await using var command = DataSource.CreateCommand(sql);
            command.Parameters.AddWithValue("owner", ownerId);
            return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }

        /// <summary>
        /// Holds the owner's create lock in another transaction and starts one create, which then waits at the database;
        /// later creates queue behind it. Commit the returned transaction to let them through.
        /// </summary>
        public async Task<(NpgsqlConnection Blocker, NpgsqlTransaction Hold, Task<InsertOutcome> First)> BlockAsync(string owner)
        {
            var ct = TestContext.Current.CancellationToken;
            var blocker = await DataSource.OpenConnectionAsync(ct);
            var hold = await blocker.BeginTransactionAsync(ct);
            await using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@owner, 0))", blocker, hold))
            {
                take.Parameters.AddWithValue("owner", owner);
                await take.ExecuteNonQueryAsync(ct);
            }

            var first = Store.InsertAsync(Row(owner), cap: 1000);
            while (await ScalarAsync("""
                SELECT count(*) FROM pg_locks
                WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND @owner IS NOT NULL
                """, owner) == 0)
            {
                await Task.Delay(10, ct);
            }

            return (blocker, hold, first);
        }

        public async ValueTask DisposeAsync()
        {
            await DataSource.DisposeAsync();
            await _database.DisposeAsync();
        }
    }

    [Fact]
    public async Task Overlapping_creates_are_grouped_and_stop_exactly_at_the_cap()
    {
        await using var scope = await Scope.CreateAsync();
        var store = scope.Store;
        var owner = Ids.New(Ids.User);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => store.InsertAsync(Row(owner), cap: 120)));

        Assert.Equal(120, outcomes.Count(o => o == InsertOutcome.Inserted));
        Assert.Equal(180, outcomes.Count(o => o == InsertOutcome.CapReached));
        Assert.Equal(120, await scope.RowsAsync(owner));
        Assert.Equal(120, await scope.ScalarAsync("SELECT SUM(n) FROM resource_counts WHERE owner_id = @owner", owner));
        Assert.True(store.Batcher!.Grouped.Rows > 0, "300 overlapping creates should have formed at least one group");
    }

    [Fact]
    public async Task Creates_arriving_one_by_one_while_a_create_is_at_the_database_go_as_a_group()
    {
        await using var scope = await Scope.CreateAsync();
        var store = scope.Store;
        var owner = Ids.New(Ids.User);
        var ct = TestContext.Current.CancellationToken;

        // Another transaction holds the owner's lock, so the first create stays at the database.
        await using var blocker = await scope.DataSource.OpenConnectionAsync(ct);
        await using var hold = await blocker.BeginTransactionAsync(ct);
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@owner, 0))", blocker, hold))
        {
            take.Parameters.AddWithValue("owner", owner);
            await take.ExecuteNonQueryAsync(ct);
        }

        var first = store.InsertAsync(Row(owner), cap: 100, cancellationToken: TestContext.Current.CancellationToken);
        while (await scope.ScalarAsync("""
            SELECT count(*) FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND @owner IS NOT NULL
            """, owner) == 0)
        {
            await Task.Delay(10, ct);
        }

        // Each arrives alone; none is sent alone behind the first (it would only queue on the same lock).
        var later = new List<Task<InsertOutcome>>();
        for (var i = 0; i < 5; i++)
        {
            later.Add(store.InsertAsync(Row(owner), cap: 100, cancellationToken: TestContext.Current.CancellationToken));
            Assert.Equal(i + 1, store.Batcher!.Queued);
        }

        await hold.CommitAsync(ct);

        Assert.Equal(InsertOutcome.Inserted, await first);
        Assert.All(await Task.WhenAll(later), o => Assert.Equal(InsertOutcome.Inserted, o));
        Assert.Equal(5, store.Batcher!.Grouped.Rows);
        Assert.Equal(6, await scope.RowsAsync(owner));
    }

    [Fact]
    public async Task A_full_queue_sheds_creates_at_once_and_writes_none_of_them()
    {
        await using var scope = await Scope.CreateAsync(maxQueued: 8);
        var owner = Ids.New(Ids.User);
        var (blocker, hold, first) = await scope.BlockAsync(owner);
        await using var _ = blocker;

        var queued = Enumerable.Range(0, 8).Select(_ => scope.Store.InsertAsync(Row(owner), cap: 1000)).ToList();
        var shed = Enumerable.Range(0, 3).Select(_ => scope.Store.InsertAsync(Row(owner), cap: 1000)).ToList();

        // Shed before the database frees up: the answer does not wait behind the queue.
        Assert.All(await Task.WhenAll(shed), o => Assert.Equal(InsertOutcome.Overloaded, o));
        Assert.Equal(8, scope.Store.Batcher!.Queued);

        await hold.CommitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(InsertOutcome.Inserted, await first);
        Assert.All(await Task.WhenAll(queued), o => Assert.Equal(InsertOutcome.Inserted, o));
        Assert.Equal(9, await scope.RowsAsync(owner));
    }

    [Fact]
    public async Task A_create_cancelled_while_queued_is_never_written()
    {
        await using var scope = await Scope.CreateAsync();
        var owner = Ids.New(Ids.User);
        var (blocker, hold, first) = await scope.BlockAsync(owner);
        await using var _ = blocker;

        using var gone = new CancellationTokenSource();
        var abandoned = Row(owner);
        var cancelled = scope.Store.InsertAsync(abandoned, cap: 1000, cancellationToken: gone.Token);
        var kept = scope.Store.InsertAsync(Row(owner), cap: 1000, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(2, scope.Store.Batcher!.Queued);

        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);

        await hold.CommitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(InsertOutcome.Inserted, await first);
        Assert.Equal(InsertOutcome.Inserted, await kept);
        Assert.Equal(2, await scope.RowsAsync(owner));
        Assert.Null(await scope.Store.LoadAsync(abandoned.Id));
    }

    [Fact]
    public async Task A_duplicate_id_in_a_group_is_inserted_once()
    {
        await using var scope = await Scope.CreateAsync();
        var store = scope.Store;
        var owner = Ids.New(Ids.User);
        var id = Ids.New(Ids.Resource);

        var rows = Enumerable.Range(0, 40).Select(i => i % 8 == 0 ? Row(owner, id) : Row(owner)).ToList();
        var outcomes = await Task.WhenAll(rows.Select(r => store.InsertAsync(r, cap: 1000)));

        var duplicates = outcomes.Where((_, i) => rows[i].Id == id).ToList();
        Assert.Single(duplicates, o => o == InsertOutcome.Inserted);
        Assert.All(duplicates.Where(o => o != InsertOutcome.Inserted), o => Assert.Equal(InsertOutcome.AlreadyExists, o));
        Assert.All(outcomes.Where((_, i) => rows[i].Id != id), o => Assert.Equal(InsertOutcome.Inserted, o));
        Assert.Equal(36, await scope.RowsAsync(owner));
    }

    [Fact]
    public async Task A_duplicate_near_the_cap_does_not_refuse_a_row_that_fits()
    {
        await using var scope = await Scope.CreateAsync();
        var store = scope.Store;
        var owner = Ids.New(Ids.User);
        var existing = Row(owner);
        Assert.Equal(InsertOutcome.Inserted, await store.InsertAsync(existing, cap: 3, cancellationToken: TestContext.Current.CancellationToken));

        // Cap 3, one held: the duplicate takes no room, so both fresh rows fit, whatever group they land in.
        var outcomes = await Task.WhenAll(store.InsertAsync(existing, cap: 3, cancellationToken: TestContext.Current.CancellationToken), store.InsertAsync(Row(owner), cap: 3, cancellationToken: TestContext.Current.CancellationToken), store.InsertAsync(Row(owner), cap: 3, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal([InsertOutcome.AlreadyExists, InsertOutcome.Inserted, InsertOutcome.Inserted], outcomes);
        Assert.Equal(3, await scope.RowsAsync(owner));
    }

    [Fact]
    public async Task A_row_the_database_refuses_fails_alone()
    {
        await using var scope = await Scope.CreateAsync();
        var store = scope.Store;
        var owner = Ids.New(Ids.User);

        // PostgreSQL text cannot hold NUL: this row fails in the database, whatever group it is in.
        var tasks = Enumerable.Range(0, 30).Select(i => store.InsertAsync(Row(owner, name: i == 7 ? "bad\0name" : "fine"), cap: 1000)).ToList();
        await Assert.ThrowsAnyAsync<PostgresException>(() => tasks[7]);

        foreach (var task in tasks.Where((_, i) => i != 7))
        {
            Assert.Equal(InsertOutcome.Inserted, await task);
        }

        Assert.Equal(29, await scope.RowsAsync(owner));
    }

    [Fact]
    public async Task Counters_match_the_rows_after_grouped_creates_of_many_owners_types_and_statuses()
    {
        await using var scope = await Scope.CreateAsync();
        var store = scope.Store;
        var owners = Enumerable.Range(0, 3).Select(_ => Ids.New(Ids.User)).ToList();
        string[] types = ["standard", "document"];
        string[] statuses = ["active", "archived", "inactive"];

        await Task.WhenAll(Enumerable.Range(0, 240).Select(i =>
            store.InsertAsync(Row(owners[i % 3], type: types[i % 2], status: statuses[i / 2 % 3]), cap: 1000)));

        await using var command = scope.DataSource.CreateCommand("""
            SELECT count(*) FROM (
                SELECT owner_id, type, status, count(*) AS n FROM resources GROUP BY 1, 2, 3
            ) actual FULL JOIN resource_counts c USING (owner_id, type, status)
            WHERE actual.n IS DISTINCT FROM c.n AND COALESCE(c.n, 0) <> 0
            """);
        Assert.Equal(0L, await command.ExecuteScalarAsync(TestContext.Current.CancellationToken));
        Assert.Equal(240, await scope.ScalarAsync("SELECT SUM(n) FROM resource_counts WHERE owner_id <> @owner", ""));
    }

    [Fact]
    public async Task Every_create_writes_its_event_numbered_per_owner_without_gaps_and_marked_for_delivery_only_when_subscribed()
    {
        await using var scope = await Scope.CreateAsync();
        var store = scope.Store;
        string subscribed = Ids.New(Ids.User), otherEvents = Ids.New(Ids.User), none = Ids.New(Ids.User);
        foreach (var (owner, events) in new[] { (subscribed, "[\"resource.created\"]"), (otherEvents, "[\"resource.deleted\"]") })
        {
            await using var insert = scope.DataSource.CreateCommand("""
                INSERT INTO webhooks (id, owner_id, url, events, secret, enabled, created_at, updated_at, version)
                VALUES (@id, @owner, 'https://example.test/hook', @events, 'whsec_x', TRUE, 0, 0, 1)
                """);
            insert.Parameters.AddWithValue("id", Ids.New(Ids.Webhook));
            insert.Parameters.AddWithValue("owner", owner);
            insert.Parameters.AddWithValue("events", events);
            await insert.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        // Concurrent creates of three owners: many go in shared group commits.
        await Task.WhenAll(new[] { subscribed, otherEvents, none }.SelectMany(owner => Enumerable.Range(0, 40).Select(_ =>
        {
            var row = Row(owner);
            return store.InsertAsync(row, 1000, EventBodies.ForResource(EventTypes.ResourceCreated, row, Now));
        })));

        foreach (var owner in new[] { subscribed, otherEvents, none })
        {
            // 1..40 exactly: every event is in the log, numbered without gaps or repeats, and the owner's counter agrees.
            Assert.Equal(40, await scope.ScalarAsync("SELECT count(DISTINCT seq) FROM events WHERE owner_id = @owner AND seq BETWEEN 1 AND 40", owner));
            Assert.Equal(40, await scope.ScalarAsync("SELECT count(*) FROM events WHERE owner_id = @owner", owner));
            Assert.Equal(40, await scope.ScalarAsync("SELECT last_seq FROM event_owners WHERE owner_id = @owner", owner));
            Assert.Equal(40, await scope.ScalarAsync("SELECT n FROM event_counts WHERE owner_id = @owner AND type = 'resource.created'", owner));
            // Each event belongs to a resource of its owner.
            Assert.Equal(40, await scope.ScalarAsync(
                "SELECT count(*) FROM events e JOIN resources r ON e.payload LIKE '%' || r.id || '%' AND r.owner_id = e.owner_id WHERE e.owner_id = @owner", owner));
        }

        const string delivered = "SELECT count(*) FROM events WHERE owner_id = @owner AND deliver";
        Assert.Equal(40, await scope.ScalarAsync(delivered, subscribed));
        Assert.Equal(0, await scope.ScalarAsync(delivered, otherEvents));
        Assert.Equal(0, await scope.ScalarAsync(delivered, none));
    }

    [Fact]
    public async Task The_first_page_of_a_big_owner_walks_its_index_even_with_the_generic_plan_of_many_small_owners()
    {
        // The product's settings for its own statements (auto-prepared, no reset) on one connection, so the statement
        // the store prepared can be looked at afterwards.
        await using var scope = await Scope.CreateAsync(configure: b =>
        {
            b.MaxPoolSize = 1;
            b.MaxAutoPrepare = 16;
            b.AutoPrepareMinUsages = 2;
            b.NoResetOnClose = true;
        });
        var ct = TestContext.Current.CancellationToken;

        // The many-tenants shape: 10,000 owners, the owner of rank r holding 1000 / sqrt(r) resources (198,463 rows,
        // fewer than a page's worth on average), the biggest first.
        await using (var seed = scope.DataSource.CreateCommand("""
            INSERT INTO resources (id, owner_id, name, description, type, status, metadata, created_at, updated_at, version)
            SELECT 'res_' || md5(o || '_' || g), 'usr_' || md5(o::text), 'n' || g, NULL, 'standard', 'active', '{}', 1000000 + g, 1000000 + g, 1
            FROM generate_series(1, 10000) o, generate_series(1, (1000 / sqrt(o))::int) g;
            ANALYZE resources;
            """))
        {
            seed.CommandTimeout = 300;
            await seed.ExecuteNonQueryAsync(ct);
        }

        var big = "usr_" + Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("1"u8));
        var query = new ResourceQuery(big, null, null, [new SortKey("created_at", true)], 0, 20, null);
        ResourcePage page = null!;
        for (var i = 0; i < 3; i++)
        {
            page = await scope.Store.QueryAsync(query);
        }

        Assert.Equal(1000, page.Total);
        Assert.Equal(Enumerable.Range(981, 20).Reverse().Select(g => 1000000L + g), page.Items.Select(r => DbTime.Micros(r.CreatedAt)));

        // The plan PostgreSQL keeps for the prepared page statement once it stops planning per execution (the setting
        // dies with this connection, which the scope's data source disposes).
        await using var connection = await scope.DataSource.OpenConnectionAsync(ct);
        string name;
        await using (var find = new NpgsqlCommand(
            "SELECT name FROM pg_prepared_statements WHERE statement LIKE 'SELECT id, owner_id, % FROM resources WHERE owner_id = $1 ORDER BY %'", connection))
        {
            name = (string)(await find.ExecuteScalarAsync(ct))!;
        }

        await using (var generic = new NpgsqlCommand("SET plan_cache_mode = force_generic_plan", connection))
        {
            await generic.ExecuteNonQueryAsync(ct);
        }

        var plan = new List<string>();
        await using (var explain = new NpgsqlCommand($"EXPLAIN EXECUTE {name}('{big}')", connection))
        await using (var reader = await explain.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                plan.Add(reader.GetString(0));
            }
        }

        // Walked from the newest and stopped after the page, not every row of the owner read and sorted.
        Assert.Contains(plan, line => line.Contains("Index Scan Backward using resources_owner_created", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, line => line.Contains("Sort", StringComparison.Ordinal));
    }
}
