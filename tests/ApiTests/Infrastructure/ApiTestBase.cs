namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>Test collections: one shared server per storage mode; the two modes run in parallel.</summary>
public static class Servers
{
    public const string Embedded = "embedded server";
    public const string Postgres = "postgres server";
}

[CollectionDefinition(Servers.Embedded)]
public sealed class EmbeddedCollection : ICollectionFixture<EmbeddedServer>;

[CollectionDefinition(Servers.Postgres)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>;

/// <summary>
/// Base of behaviour tests written once and run against every storage mode (a concrete subclass per mode).
/// </summary>
public abstract class ApiTestBase(ApiServer server) : IDisposable
{
    private ApiClient? _client;

    protected ApiServer Server
    {
        get
        {
            Assert.SkipUnless(server.Available, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
            return server;
        }
    }

    protected ApiClient Client => _client ??= Server.CreateClient();

    public void Dispose()
    {
        _client?.Dispose();
        GC.SuppressFinalize(this);
    }
}
