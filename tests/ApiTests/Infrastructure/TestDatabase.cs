using Npgsql;

namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>
/// A database of its own on the throwaway PostgreSQL server named by <c>TEST_POSTGRES</c> (which ./test.sh starts).
/// Without that server the PostgreSQL tests skip, unless <c>REQUIRE_POSTGRES=1</c> (as in CI) makes them fail.
/// </summary>
public sealed class TestDatabase
{
    private readonly string _name = "api_" + Guid.NewGuid().ToString("N")[..12];

    public string ConnectionString { get; private set; } = "";

    public static string? ServerConnectionString
    {
        get
        {
            var value = Environment.GetEnvironmentVariable("TEST_POSTGRES");
            if (!string.IsNullOrWhiteSpace(value))
            {
                return value;
            }

            if (Environment.GetEnvironmentVariable("REQUIRE_POSTGRES") == "1")
            {
                throw new InvalidOperationException("REQUIRE_POSTGRES=1 but TEST_POSTGRES is not set: start PostgreSQL with ./test.sh.");
            }

            return null;
        }
    }

    public async Task CreateAsync()
    {
        var server = ServerConnectionString;
        if (server is null)
        {
            return;
        }

        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {_name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        // No pool size: the servers run with the product's own default, as a deployment does.
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = _name }.ConnectionString;
    }

    public async Task DropAsync()
    {
        if (ServerConnectionString is not { } server || ConnectionString.Length == 0)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
