using System.Data;
using ApiPlatform.Grains.Storage;
using Npgsql;

namespace ApiPlatform.StorageTests;

/// <summary>
/// Membership writes must change nothing when they report failure (0), otherwise the table
/// version drifts away from what Orleans believes it wrote.
/// </summary>
public sealed class ClusteringContractTests
{
    [Fact]
    public async Task Postgres_membership_writes_are_all_or_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = await PostgresTestDatabase.CreateAsync(ct);
        await DatabaseMigrator.MigratePostgresAsync(database.ConnectionString, null, ct);
        await using var connection = await database.OpenAsync(ct);
        var start = DateTime.UtcNow.AddMinutes(-10);

        Assert.True(Convert.ToBoolean((await StoredQuery.RunAsync(connection, "InsertMembershipVersionKey", ct, Deployment()))[0][0]));
        Assert.False(Convert.ToBoolean((await StoredQuery.RunAsync(connection, "InsertMembershipVersionKey", ct, Deployment()))[0][0]));

        Assert.True(await InsertAsync(connection, version: 0, start, ct));
        Assert.Equal(1, await TableVersionAsync(connection, ct));

        // Stale version, then a duplicate row with the right version: both fail and neither bumps.
        Assert.False(await InsertAsync(connection, version: 0, start, ct));
        Assert.False(await InsertAsync(connection, version: 1, start, ct));
        Assert.Equal(1, await TableVersionAsync(connection, ct));

        // Declare the silo Dead (6) with the current version; a stale update changes nothing.
        Assert.True(await UpdateAsync(connection, status: 6, version: 1, start, ct));
        Assert.False(await UpdateAsync(connection, status: 3, version: 1, start, ct));
        Assert.Equal(2, await TableVersionAsync(connection, ct));

        var all = await StoredQuery.RunAsync(connection, "MembershipReadAllKey", ct, Deployment());
        Assert.Single(all);

        // The provider's per-row cleanup passes the values it read back, typed DbType.DateTime.
        var (suspectTimes, startTime, iAmAliveTime) = await ReadRowAsync(connection, ct);
        var deleted = await ExecuteAsync(connection, "CleanupDefunctSiloEntryKey", ct,
        [
            .. Deployment(), .. Silo(),
            ("SuspectTimes", suspectTimes, DbType.String),
            ("StartTime", startTime, DbType.DateTime),
            ("IAmAliveTime", iAmAliveTime, DbType.DateTime),
        ]);
        Assert.Equal(1, deleted);

        // The version row survives member cleanup: the join still returns it with no member.
        var afterCleanup = Assert.Single(await StoredQuery.RunAsync(connection, "MembershipReadAllKey", ct, Deployment()));
        Assert.Null(afterCleanup[1]);
    }

    private static (string, object?, DbType)[] Deployment() => [("DeploymentId", "cluster-a", DbType.String)];

    private static (string, object?, DbType)[] Silo() =>
    [
        ("Address", "127.0.0.1", DbType.AnsiString),
        ("Port", 11111, DbType.Int32),
        ("Generation", 42, DbType.Int32),
    ];

    private static async Task<bool> InsertAsync(NpgsqlConnection connection, int version, DateTime start, CancellationToken ct)
    {
        var rows = await StoredQuery.RunAsync(connection, "InsertMembershipKey", ct,
        [
            .. Deployment(), .. Silo(),
            ("SiloName", "silo", DbType.String),
            ("HostName", "host", DbType.String),
            ("Status", 3, DbType.Int32),
            ("ProxyPort", 30000, DbType.Int32),
            ("StartTime", start, DbType.DateTime),
            ("IAmAliveTime", start, DbType.DateTime),
            ("Version", version, DbType.Int32),
        ]);
        return Convert.ToBoolean(Assert.Single(rows)[0]);
    }

    private static async Task<bool> UpdateAsync(NpgsqlConnection connection, int status, int version, DateTime start, CancellationToken ct)
    {
        var rows = await StoredQuery.RunAsync(connection, "UpdateMembershipKey", ct,
        [
            .. Deployment(), .. Silo(),
            ("Status", status, DbType.Int32),
            ("SuspectTimes", null, DbType.String),
            ("IAmAliveTime", start, DbType.DateTime),
            ("Version", version, DbType.Int32),
        ]);
        return Convert.ToBoolean(Assert.Single(rows)[0]);
    }

    private static async Task<int> TableVersionAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT Version FROM OrleansMembershipVersionTable WHERE DeploymentId = 'cluster-a'", connection);
        return (int)(await command.ExecuteScalarAsync(ct))!;
    }

    // Read the way the provider does (DbExtensions.GetDateTimeValue): DateTime marked as UTC.
    private static async Task<(string? SuspectTimes, DateTime StartTime, DateTime IAmAliveTime)> ReadRowAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT SuspectTimes, StartTime, IAmAliveTime FROM OrleansMembershipTable", connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        Assert.True(await reader.ReadAsync(ct));
        return (
            reader.IsDBNull(0) ? null : reader.GetString(0),
            DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc),
            DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc));
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, string key, CancellationToken ct, (string Name, object? Value, DbType Type)[] parameters)
    {
        await using var lookup = new NpgsqlCommand($"SELECT QueryText FROM OrleansQuery WHERE QueryKey = '{key}'", connection);
        var text = (string)(await lookup.ExecuteScalarAsync(ct))!;
        await using var command = new NpgsqlCommand(text, connection);
        foreach (var (name, value, type) in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value ?? DBNull.Value });
        }

        return await command.ExecuteNonQueryAsync(ct);
    }
}
