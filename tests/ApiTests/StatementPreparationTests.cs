using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Silo.Hosting;
using Npgsql;

namespace ApiPlatform.ApiTests;

/// <summary>
/// The project's own SQL on PostgreSQL runs as prepared statements (Npgsql's auto-prepare): parsed and planned once per
/// connection instead of on every request; the pool is sized by the cores. A connection string that sets the keywords
/// keeps its values.
/// </summary>
[Collection(Servers.Postgres)]
public sealed class StatementPreparationTests(PostgresServer server) : ApiTestBase(server)
{
    [Fact]
    public void The_servers_statements_are_auto_prepared()
    {
        var settings = new NpgsqlConnectionStringBuilder(((NpgsqlDataSource)Server.Database.DataSource).ConnectionString);
        Assert.Equal(64, settings.MaxAutoPrepare);
        Assert.Equal(2, settings.AutoPrepareMinUsages);
        Assert.True(settings.NoResetOnClose);
        Assert.Equal(OrleansSetup.DefaultMaxPoolSize(Environment.ProcessorCount), settings.MaxPoolSize);
    }

    [Theory]
    [InlineData(1, 6)]
    [InlineData(2, 6)]
    [InlineData(4, 12)]
    [InlineData(16, 48)]
    public void The_pool_has_three_connections_per_core_and_at_least_six(int processors, int size) =>
        Assert.Equal(size, new NpgsqlConnectionStringBuilder(OrleansSetup.ProjectConnectionString("Host=db", processors)).MaxPoolSize);

    [Fact]
    public void What_the_connection_string_sets_wins()
    {
        var settings = new NpgsqlConnectionStringBuilder(OrleansSetup.ProjectConnectionString("Host=db;Max Auto Prepare=0;Auto Prepare Min Usages=7"));
        Assert.Equal(0, settings.MaxAutoPrepare);
        Assert.Equal(7, settings.AutoPrepareMinUsages);

        // Npgsql's synonyms of a keyword count as setting it.
        Assert.Equal(100, new NpgsqlConnectionStringBuilder(OrleansSetup.ProjectConnectionString("Host=db;Maximum Pool Size=100", 2)).MaxPoolSize);
        Assert.Equal(9, new NpgsqlConnectionStringBuilder(OrleansSetup.ProjectConnectionString("Host=db;maxpoolsize=9", 2)).MaxPoolSize);
    }
}
