using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Silo.Hosting;
using Npgsql;

namespace ApiPlatform.ApiTests;

/// <summary>
/// The project's own SQL on PostgreSQL runs as prepared statements (Npgsql's auto-prepare): parsed and planned once per
/// connection instead of on every request. A connection string that sets the keywords keeps its values.
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
    }

    [Fact]
    public void What_the_connection_string_sets_wins()
    {
        var settings = new NpgsqlConnectionStringBuilder(OrleansSetup.ProjectConnectionString("Host=db;Max Auto Prepare=0;Auto Prepare Min Usages=7"));
        Assert.Equal(0, settings.MaxAutoPrepare);
        Assert.Equal(7, settings.AutoPrepareMinUsages);
    }
}
