using Npgsql;

namespace ApiPlatform.StorageTests;

/// <summary>
/// A fresh, uniquely named database on the throwaway server named by <c>TEST_POSTGRES</c>,
/// dropped again on dispose.
/// </summary>
internal sealed class PostgresTestDatabase : IAsyncDisposable
{
    private readonly string adminConnectionString;

    private PostgresTestDatabase(string adminConnectionString, string name, string connectionString)
    {
        this.adminConnectionString = adminConnectionString;
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    /// <summary>
    /// Creates the database, or skips the calling test when no server is configured. With
    /// <c>REQUIRE_POSTGRES=1</c> (CI) a missing server fails the test instead of hiding it.
    /// </summary>
    public static async Task<PostgresTestDatabase> CreateAsync(CancellationToken ct)
    {
        var admin = Environment.GetEnvironmentVariable("TEST_POSTGRES");
        if (string.IsNullOrWhiteSpace(admin))
        {
            if (Environment.GetEnvironmentVariable("REQUIRE_POSTGRES") == "1")
            {
                Assert.Fail("REQUIRE_POSTGRES=1 but TEST_POSTGRES is not set: point TEST_POSTGRES at a throwaway PostgreSQL superuser, "
                    + "e.g. Host=127.0.0.1;Port=54329;Username=postgres;Password=postgres.");
            }

            Assert.Skip("TEST_POSTGRES is not set; PostgreSQL storage tests need a throwaway PostgreSQL superuser connection string.");
        }

        var name = "st_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync(ct);
            await using var command = connection.CreateCommand();
            // Identifiers cannot be parameters; the name is generated above, never user input.
            command.CommandText = $"CREATE DATABASE {name}";
            await command.ExecuteNonQueryAsync(ct);
        }

        var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
        return new PostgresTestDatabase(admin, name, connectionString);
    }

    public async Task<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        // Orleans' connections share Npgsql's pool for this connection string; empty it so the
        // drop does not have to kill them (FORCE still covers anything left over).
        await using (var pooled = new NpgsqlConnection(ConnectionString))
        {
            NpgsqlConnection.ClearPool(pooled);
        }

        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = $"DROP DATABASE IF EXISTS {Name} WITH (FORCE)";
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }
}
