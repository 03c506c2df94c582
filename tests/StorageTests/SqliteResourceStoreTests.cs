using ApiPlatform.Grains;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Grains.Storage;
using ApiPlatform.Grains.Webhooks;
using Microsoft.Data.Sqlite;

namespace ApiPlatform.StorageTests;

/// <summary>
/// Creates on SQLite (the embedded default) that overlap share one transaction. These tests hold that to what one
/// transaction per create guarantees: exact caps, one row per id, counters equal to the rows, and every event in its
/// owner's log, numbered without gaps.
/// </summary>
public sealed class SqliteResourceStoreTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 15, 10, 0, 0, TimeSpan.Zero);

    private static ResourceView Row(string ownerId, string? id = null) =>
        new(id ?? Ids.New(Ids.Resource), ownerId, "n", null, "standard", "active", "{}", Now, Now, 1);

    private static NewEvent Created(ResourceView row) => EventBodies.ForResource(WebhookEventTypes.ResourceCreated, row, Now);

    private static async Task<(SqliteTestFile File, ResourceStore Store)> CreateAsync()
    {
        var file = new SqliteTestFile();
        await DatabaseMigrator.MigrateSqliteAsync(file.ConnectionString, null, TestContext.Current.CancellationToken);
        // As the silo connects (StorageOptions.SqliteConnectionString): waits for the write lock rather than failing.
        var connectionString = new SqliteConnectionStringBuilder(file.ConnectionString) { DefaultTimeout = 30 }.ToString();
        var database = new Database(SqliteFactory.Instance.CreateDataSource(connectionString), SqlDialect.Sqlite);
        return (file, new ResourceStore(database, new EventLog(database, new WebhookSubscriptions())));
    }

    private static long Scalar(SqliteTestFile file, string sql, string ownerId)
    {
        using var connection = new SqliteConnection(file.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@owner", ownerId);
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Overlapping_creates_share_transactions_and_stop_exactly_at_the_cap()
    {
        var (file, store) = await CreateAsync();
        using var _ = file;
        var owner = Ids.New(Ids.User);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ =>
        {
            var row = Row(owner);
            return store.InsertAsync(row, cap: 120, Created(row));
        }));

        Assert.Equal(120, outcomes.Count(o => o == InsertOutcome.Inserted));
        Assert.Equal(180, outcomes.Count(o => o == InsertOutcome.CapReached));
        Assert.Equal(120, Scalar(file, "SELECT count(*) FROM resources WHERE owner_id = @owner", owner));
        Assert.Equal(120, Scalar(file, "SELECT SUM(n) FROM resource_counts WHERE owner_id = @owner", owner));
        // One event per inserted row, none for a refused one, numbered 1..120 in commit order.
        Assert.Equal(120, Scalar(file, "SELECT count(*) FROM events WHERE owner_id = @owner", owner));
        Assert.Equal(120, Scalar(file, "SELECT max(seq) FROM events WHERE owner_id = @owner", owner));
        Assert.True(store.SqliteGrouped.Rows > 0, "300 overlapping creates should have shared at least one transaction");
    }

    [Fact]
    public async Task The_same_id_twice_in_one_group_is_inserted_once_and_answered_already_exists_once()
    {
        var (file, store) = await CreateAsync();
        using var _ = file;
        var owner = Ids.New(Ids.User);
        var id = Ids.New(Ids.Resource);

        // Many creates at once, so the two with one id are likely in one group; either way the answers are exact.
        var others = Enumerable.Range(0, 40).Select(_ => store.InsertAsync(Row(owner), cap: 1000)).ToList();
        var first = store.InsertAsync(Row(owner, id), cap: 1000, Created(Row(owner, id)), cancellationToken: TestContext.Current.CancellationToken);
        var second = store.InsertAsync(Row(owner, id), cap: 1000, Created(Row(owner, id)), cancellationToken: TestContext.Current.CancellationToken);
        await Task.WhenAll(others);

        Assert.Equal(
            [InsertOutcome.Inserted, InsertOutcome.AlreadyExists],
            new[] { await first, await second }.Order().ToArray());
        Assert.Equal(41, Scalar(file, "SELECT count(*) FROM resources WHERE owner_id = @owner", owner));
        Assert.Equal(1, Scalar(file, "SELECT count(*) FROM events WHERE owner_id = @owner", owner));
    }
}
