using ApiPlatform.Grains;
using ApiPlatform.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>
/// The real product (Orleans silo + HTTP API, exactly as <c>dotnet run --project src/Silo</c> builds it) on a free
/// loopback port, reached over real HTTP. Subclasses choose the storage: the embedded SQLite default or PostgreSQL.
/// Product time runs on a <see cref="FakeTimeProvider"/> that starts at the real time, so expiry can be tested
/// without sleeping; Orleans' own timers keep real time.
/// </summary>
public abstract class ApiServer : IAsyncLifetime
{
    public const string AdminEmail = "admin@example.test";
    public const string AdminPassword = "admin-password-123";

    /// <summary>The management token every test server accepts (it opens the Orleans Dashboard).</summary>
    public const string ManagementToken = "test-management-token-0123456789abcdef";

    private readonly string _siloPort = TestPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);
    private readonly string _gatewayPort = TestPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);
    private WebApplication? _app;

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

    /// <summary>The server's data directory: the embedded mode's database, and mail files when no SMTP host is set.</summary>
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "api-tests-" + Guid.NewGuid().ToString("N"));

    /// <summary>The product's own database, to check what it stored.</summary>
    public ApiPlatform.Grains.Storage.Database Database => Services.GetRequiredService<ApiPlatform.Grains.Storage.Database>();

    /// <summary>Servers with the same cluster id and database form one cluster.</summary>
    public virtual string ClusterId { get; } = "test-" + Guid.NewGuid().ToString("N")[..8];

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The management listener (<c>/metrics</c>), or null when the server runs without one.</summary>
    public Uri? ManagementAddress { get; private set; }

    public IServiceProvider Services => _app!.Services;

    /// <summary>Settings every test server shares; subclasses add storage.</summary>
    protected virtual Dictionary<string, string?> Settings() => new()
    {
        ["Urls"] = "http://127.0.0.1:0",
        ["Storage:DataDirectory"] = DataDirectory,
        // Tests run many servers at once: each management listener on a port of its own.
        ["Management:Urls"] = "http://127.0.0.1:0",
        ["Management:Token"] = ManagementToken,
        ["Orleans:SiloPort"] = _siloPort,
        ["Orleans:GatewayPort"] = _gatewayPort,
        ["Orleans:ClusterId"] = ClusterId,
        ["Bootstrap:AdminEmail"] = AdminEmail,
        ["Bootstrap:AdminPassword"] = AdminPassword,
        ["Plans:Catalog:free:MaxApiKeys"] = "3",
        ["Plans:Catalog:free:MaxResources"] = "25",
        // Every test registers from 127.0.0.1: the address budget must not be what a test runs into.
        ["RateLimits:Anonymous:Limit"] = "1000000",
        // A plan small enough to spend in a test, and an override of a default plan's limit.
        ["Plans:Catalog:tiny:MaxApiKeys"] = "5",
        ["RateLimits:Plans:tiny:Limit"] = "5",
        ["RateLimits:Plans:tiny:WindowSeconds"] = "60",
        ["RateLimits:Plans:pro:Limit"] = "1234",
        // A budget large enough to be spent from leases (RateLimitLeasing.MinLimit), small enough to spend in a test.
        ["Plans:Catalog:busy:MaxApiKeys"] = "5",
        ["RateLimits:Plans:busy:Limit"] = "300",
        ["RateLimits:Plans:busy:WindowSeconds"] = "3600",
        ["Plans:Catalog:unlimited:MaxApiKeys"] = "5",
        ["RateLimits:Plans:unlimited:Limit"] = "0",
        // Webhooks: receivers run on loopback; retries come quickly (tests also move product time); few webhooks per plan.
        ["Webhooks:AllowPrivateNetworks"] = "true",
        ["Webhooks:RetrySchedule:0"] = "00:00:00.200",
        ["Webhooks:RetrySchedule:1"] = "00:00:00.200",
        ["Webhooks:RetrySchedule:2"] = "00:00:00.200",
        ["Webhooks:ManualDeliveries:Limit"] = "4",
        ["Plans:Catalog:free:MaxWebhooks"] = "3",
        // Event streams: a cap small enough to reach, and heartbeats a test can wait for.
        ["Plans:Catalog:free:MaxEventStreams"] = "3",
        ["Events:Heartbeat"] = "00:00:02",
        // Re-indexing after a type's indexes change: small batches (several per test type) found quickly.
        ["Resources:IndexBuildBatchSize"] = "7",
        ["Resources:IndexBuildPollInterval"] = "00:00:00.100",
        // Account mail goes to the test run's SMTP server; links point at a client app.
        ["Email:Smtp:Host"] = "127.0.0.1",
        ["Email:Smtp:Port"] = TestMailServer.Shared.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Email:Smtp:UseTls"] = "false",
        ["Email:LinkBaseUrl"] = "https://app.example.test",
        // Ended sessions, used tokens and settled invitations are purged an hour after they end, checked often.
        ["Accounts:PurgeInterval"] = "00:00:00.200",
        ["Accounts:EndedRetention"] = "01:00:00",
        // A plan with room for many organizations and keys, for tests that move accounts between plans.
        ["Plans:Catalog:free:MaxOrganizations"] = "3",
        // Test hosts run as Production (no ASPNETCORE_ENVIRONMENT), where the OpenAPI document is off by default.
        ["Gateway:ExposeOpenApi"] = "true",
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:ApiPlatform.Gateway.Errors"] = "Error",
    };

    /// <summary>False when the storage this server needs is not there (PostgreSQL outside ./test.sh).</summary>
    public virtual bool Available => true;

    public virtual async ValueTask InitializeAsync()
    {
        if (Available)
        {
            await StartAsync();
        }
    }

    /// <summary>Settings applied over <see cref="Settings"/>, for servers that differ from the default.</summary>
    public Dictionary<string, string?> Overrides { get; } = [];

    /// <summary>Changes to the host beyond settings (e.g. an in-memory trace exporter), applied before it is built.</summary>
    public Action<WebApplicationBuilder>? ConfigureHost { get; set; }

    public async Task StartAsync()
    {
        var settings = Settings();
        foreach (var (key, value) in Overrides)
        {
            settings[key] = value;
        }

        var app = SiloHost.Build([], builder =>
        {
            foreach (var (key, value) in settings)
            {
                builder.Configuration[key] = value;
            }

            builder.Services.RemoveAll<ApiClock>();
            builder.Services.AddSingleton(new ApiClock(Time));
            ConfigureHost?.Invoke(builder);
        });
        try
        {
            await app.StartAsync();
        }
        catch
        {
            // A start refused (a bad setting): there is nothing to stop afterwards.
            await app.DisposeAsync();
            throw;
        }

        _app = app;
        BaseAddress = new Uri(_app.Urls.First());
        ManagementAddress = _app.Services.GetRequiredService<ManagementServer>().Addresses.FirstOrDefault();
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>Stops the process and starts it again on the same storage.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    public ApiClient CreateClient() => new(new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) });

    public virtual async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind (or never made) is harmless.
        }

        GC.SuppressFinalize(this);
    }

}

/// <summary>The embedded default: SQLite in a fresh data directory.</summary>
public class EmbeddedServer : ApiServer;

/// <summary>PostgreSQL: a fresh database on the throwaway server the test command started.</summary>
public class PostgresServer : ApiServer
{
    private readonly TestDatabase _database;
    private readonly bool _ownsDatabase;

    // One key for the server's life: tokens must survive a restart, as with a configured key in production.
    private readonly string _signingKey;

    public PostgresServer()
        : this(new TestDatabase(), Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48)), null, ownsDatabase: true)
    {
    }

    /// <summary>A silo that joins <paramref name="clusterId"/> on a database another fixture created.</summary>
    internal PostgresServer(TestDatabase database, string signingKey, string? clusterId, bool ownsDatabase = false)
    {
        _database = database;
        _signingKey = signingKey;
        _ownsDatabase = ownsDatabase;
        ClusterId = clusterId ?? base.ClusterId;
    }

    public override string ClusterId { get; }

    public override bool Available => TestDatabase.ServerConnectionString is not null;

    public override async ValueTask InitializeAsync()
    {
        if (Available && _ownsDatabase)
        {
            await _database.CreateAsync();
        }

        await base.InitializeAsync();
    }

    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["ConnectionStrings:Postgres"] = _database.ConnectionString;
        settings["Jwt:SigningKey"] = _signingKey;
        return settings;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_ownsDatabase)
        {
            await _database.DropAsync();
        }
    }
}

/// <summary>
/// The embedded default with <c>Auth:RequireVerifiedEmail</c> and no SMTP host: mail goes to <c>.eml</c> files under
/// its data directory.
/// </summary>
public sealed class StrictEmbeddedServer : EmbeddedServer
{
    public StrictEmbeddedServer()
    {
        Overrides["Auth:RequireVerifiedEmail"] = "true";
        Overrides["Email:Smtp:Host"] = null;
    }
}

/// <summary>PostgreSQL with <c>Auth:RequireVerifiedEmail</c> and no SMTP host (mail as files).</summary>
public sealed class StrictPostgresServer : PostgresServer
{
    public StrictPostgresServer()
    {
        Overrides["Auth:RequireVerifiedEmail"] = "true";
        Overrides["Email:Smtp:Host"] = null;
    }
}
