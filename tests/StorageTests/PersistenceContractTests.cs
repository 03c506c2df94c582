using System.Data;
using System.Data.Common;
using System.Globalization;
using ApiPlatform.Grains.Storage;
using Microsoft.Data.Sqlite;

namespace ApiPlatform.StorageTests;

/// <summary>
/// The optimistic-concurrency contract of the persistence queries, including the conflict paths a
/// happy-path silo run never takes. Orleans treats a returned version equal to the caller's ETag,
/// an empty value, or no row when it sent an ETag, as a conflict (InconsistentStateException).
/// </summary>
public sealed class PersistenceContractTests
{
    [Fact]
    public async Task Sqlite_queries_honour_versions()
    {
        var ct = TestContext.Current.CancellationToken;
        using var file = new SqliteTestFile();
        await DatabaseMigrator.MigrateSqliteAsync(file.ConnectionString, null, ct);
        await using var connection = new SqliteConnection(file.ConnectionString);
        await connection.OpenAsync(ct);

        await AssertContractAsync(connection, ct);
    }

    [Fact]
    public async Task Postgres_queries_honour_versions()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await PostgresTestDatabase.CreateAsync(ct);
        await DatabaseMigrator.MigratePostgresAsync(database.ConnectionString, null, ct);
        await using var connection = await database.OpenAsync(ct);

        await AssertContractAsync(connection, ct);
    }

    private static async Task AssertContractAsync(DbConnection connection, CancellationToken ct)
    {
        // Two grains that differ only in the key extension (one has none) must stay separate rows.
        foreach (var extension in new[] { null, "ext" })
        {
            // First write: no ETag -> inserted as version 1.
            Assert.Equal("1", Single(await WriteAsync(connection, null, [1, 2, 3], extension, ct)));

            // A second "first write" (split-brain duplicate activation) must not insert again.
            Assert.True(IsConflict(await WriteAsync(connection, null, [9], extension, ct), etag: null));

            // Update from the current version moves 1 -> 2; a stale ETag is refused.
            Assert.Equal("2", Single(await WriteAsync(connection, 1, [4, 5], extension, ct)));
            Assert.True(IsConflict(await WriteAsync(connection, 1, [6], extension, ct), etag: "1"));

            var read = await StoredQuery.RunAsync(connection, "ReadFromStorageKey", ct, Identity(extension));
            var row = Assert.Single(read);
            Assert.Equal([4, 5], (byte[])row[0]!);
            Assert.Equal("2", Convert.ToString(row[1], CultureInfo.InvariantCulture));

            // Clear keeps the row, bumps the version and empties the payload.
            Assert.Equal("3", First(await ClearAsync(connection, "ClearStorageKey", 2, extension, ct)));
            Assert.True(IsConflict(await ClearAsync(connection, "ClearStorageKey", 2, extension, ct), etag: "2"));
            row = Assert.Single(await StoredQuery.RunAsync(connection, "ReadFromStorageKey", ct, Identity(extension)));
            Assert.Null(row[0]);
            Assert.Equal("3", Convert.ToString(row[1], CultureInfo.InvariantCulture));

            // Writing after a clear continues the sequence.
            Assert.Equal("4", Single(await WriteAsync(connection, 3, [7], extension, ct)));

            // Delete (DeleteStateOnClear) removes the row; afterwards a first write inserts again.
            Assert.True(IsConflict(await ClearAsync(connection, "DeleteStorageKey", 3, extension, ct), etag: "3"));
            Assert.NotEqual("4", First(await ClearAsync(connection, "DeleteStorageKey", 4, extension, ct)));
            Assert.Empty(await StoredQuery.RunAsync(connection, "ReadFromStorageKey", ct, Identity(extension)));
            Assert.Equal("1", Single(await WriteAsync(connection, null, [8], extension, ct)));
        }
    }

    private static (string, object?, DbType)[] Identity(string? extension) =>
    [
        ("GrainIdHash", 12345, DbType.Int32),
        ("GrainIdN0", 1L, DbType.Int64),
        ("GrainIdN1", 2L, DbType.Int64),
        ("GrainTypeHash", -777, DbType.Int32),
        ("GrainTypeString", "counter", DbType.String),
        ("GrainIdExtensionString", extension, DbType.String),
        ("ServiceId", "svc", DbType.String),
    ];

    private static Task<List<object?[]>> WriteAsync(DbConnection connection, int? version, byte[] payload, string? extension, CancellationToken ct) =>
        StoredQuery.RunAsync(connection, "WriteToStorageKey", ct,
        [
            .. Identity(extension),
            ("GrainStateVersion", version, DbType.Int32),
            ("PayloadBinary", payload, DbType.Binary),
        ]);

    private static Task<List<object?[]>> ClearAsync(DbConnection connection, string key, int version, string? extension, CancellationToken ct) =>
        StoredQuery.RunAsync(connection, key, ct, [.. Identity(extension), ("GrainStateVersion", version, DbType.Int32)]);

    // Orleans takes SingleOrDefault() over all rows of all result sets, so more than one row is a bug.
    private static string? Single(List<object?[]> rows) =>
        Convert.ToString(Assert.Single(rows)[0], CultureInfo.InvariantCulture);

    private static string? First(List<object?[]> rows)
    {
        Assert.True(rows.Count <= 1, "Orleans expects at most one row");
        return rows.Count == 0 ? null : Convert.ToString(rows[0][0], CultureInfo.InvariantCulture) ?? string.Empty;
    }

    // Mirrors AdoNetGrainStorage.CheckVersionInconsistency.
    private static bool IsConflict(List<object?[]> rows, string? etag)
    {
        var returned = First(rows);
        return returned == etag || returned == string.Empty || (returned is null && etag is not null);
    }
}
