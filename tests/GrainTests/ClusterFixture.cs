using System.Collections.Concurrent;
using System.Data.Common;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Idempotency;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Grains.Storage;
using ApiPlatform.Grains.Webhooks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

// One two-silo cluster for the whole assembly: starting it is the slow part. The tests share its fake product clock,
// and some of them move it, so they run one at a time; each uses fresh random grain keys.
[assembly: AssemblyFixture(typeof(ApiPlatform.GrainTests.ClusterFixture))]
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace ApiPlatform.GrainTests;

/// <summary>
/// An in-process, two-silo Orleans cluster with in-memory grain storage. Product time (<see cref="ApiClock"/>) runs on
/// <see cref="Time"/>, a <see cref="FakeTimeProvider"/>, so tests move it without sleeping; Orleans keeps real time.
/// Both silos share one SQLite database file (the <c>resources</c> and <c>idempotency_keys</c> tables), migrated once
/// before the cluster starts and deleted when the fixture is disposed.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>The lockout rules the silos run with: small numbers keep the throttle tests short.</summary>
    public static readonly LoginThrottleOptions Throttle = new()
    {
        MaxFailures = 3,
        Window = TimeSpan.FromMinutes(10),
        LockoutDuration = TimeSpan.FromMinutes(5),
    };

    /// <summary>The Idempotency-Key rules the silos run with (the product's retention, a shorter wait).</summary>
    public static readonly IdempotencyOptions Idempotency = new()
    {
        Retention = TimeSpan.FromHours(24),
        WaitForFirst = TimeSpan.FromSeconds(10),
    };

    /// <summary>
    /// Webhook delivery as the grain tests run it: one attempt at a time per endpoint (so order is observable), quick
    /// retries, and a circuit that opens after three failures for three seconds.
    /// </summary>
    public static readonly WebhookOptions Webhooks = new()
    {
        AllowPrivateNetworks = true,
        DeliveryTimeout = TimeSpan.FromSeconds(10),
        AttemptReportTimeout = TimeSpan.FromSeconds(5),
        MaxConcurrentPerEndpoint = 1,
        RetrySchedule = [TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200),
            TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200)],
        Breaker = new BreakerOptions { FailureThreshold = 3, OpenDuration = TimeSpan.FromSeconds(3), MaxOpenDuration = TimeSpan.FromSeconds(3) },
    };

    /// <summary>Webhook endpoints (ids) whose attempt reports are dropped before they reach the grain, as a lost message is.</summary>
    public static readonly ConcurrentDictionary<string, bool> LostReports = new(StringComparer.Ordinal);

    /// <summary>The event path's settings: the product's.</summary>
    public static readonly EventOptions Events = new();

    /// <summary>An event consumer on every silo that a test can hold for one owner (see <see cref="HeldConsumer"/>).</summary>
    public static readonly HeldConsumer Holds = new();

    private readonly string _databasePath = Path.Combine(Path.GetTempPath(), $"grain-tests-{Guid.NewGuid():N}.db");
    private InProcessTestCluster? _cluster;
    private DbDataSource? _dataSource;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2030, 1, 15, 10, 0, 0, TimeSpan.Zero));

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not deployed.");

    public IGrainFactory Grains => Cluster.Client;

    /// <summary>The shared SQLite database's connection string.</summary>
    public string ConnectionString => $"Data Source={_databasePath};Default Timeout=30;Pooling=True";

    /// <summary>The test's own view of the shared database (not the silos' data sources).</summary>
    public Database Database => new(_dataSource ?? throw new InvalidOperationException("The database is not ready."), SqlDialect.Sqlite);

    /// <summary>A store over the test's view of the database, to check what the grains wrote.</summary>
    public ResourceStore Resources => new(Database);

    /// <summary>
    /// Grain factories on every side of the cluster: the external client and each silo's own factory, so calls can
    /// enter the cluster through different silos.
    /// </summary>
    public IReadOnlyList<IGrainFactory> AllFactories =>
        [Cluster.Client, .. Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<IGrainFactory>())];

    public async ValueTask InitializeAsync()
    {
        var connectionString = ConnectionString;
        await DatabaseMigrator.MigrateSqliteAsync(connectionString, null, CancellationToken.None);
        _dataSource = SqliteFactory.Instance.CreateDataSource(connectionString);

        var clock = new ApiClock(Time);
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(GrainStorage.Main);
            silo.Services.AddSingleton(clock);
            silo.Services.AddOptions<LoginThrottleOptions>().Configure(o =>
            {
                o.MaxFailures = Throttle.MaxFailures;
                o.Window = Throttle.Window;
                o.LockoutDuration = Throttle.LockoutDuration;
            });
            silo.Services.AddSingleton<DbDataSource>(_ => SqliteFactory.Instance.CreateDataSource(connectionString));
            silo.Services.AddSingleton(sp => new Database(sp.GetRequiredService<DbDataSource>(), SqlDialect.Sqlite));
            silo.Services.AddEventPath();
            silo.Services.AddWebhooks();
            silo.Services.AddSingleton<IEventConsumer>(Holds);
            silo.Services.AddOptions<WebhookOptions>().Configure(o => Copy(Webhooks, o));
            silo.AddEventQueueStreams(EventStreams.Provider, Events);
            silo.AddIncomingGrainCallFilter(context =>
                context.InterfaceMethod?.Name == nameof(IWebhookGrain.AttemptsDoneAsync) && LostReports.ContainsKey(context.TargetId.Key.ToString()!)
                    ? Task.CompletedTask // lost on the way
                    : context.Invoke());
            silo.UseInMemoryReminderService();
            silo.Services.AddSingleton<ResourceStore>();
            silo.Services.AddSingleton<ResourceTypeStore>();
            silo.Services.AddSingleton<ResourceSchemas>();
            silo.Services.AddSingleton<ResourceWritePolicy>();
            silo.Services.AddSingleton<IdempotencyStore>();
            silo.Services.AddSingleton<ApiPlatform.Grains.Users.UserDirectoryStore>();
            silo.Services.AddSingleton<ApiPlatform.Grains.Identity.UniqueClaimStore>();
            silo.Services.AddSingleton<ApiPlatform.Grains.Organizations.OrganizationStore>();
            silo.Services.AddSingleton<SessionStore>();
            silo.Services.AddSingleton<AccountTokenStore>();
            silo.Services.AddSingleton<ApiPlatform.Grains.ApiKeys.ApiKeyStore>();
            silo.Services.AddSingleton<ApiPlatform.Grains.LocalHolders>();
            silo.Services.AddOptions<IdempotencyOptions>().Configure(o =>
            {
                o.Retention = Idempotency.Retention;
                o.WaitForFirst = Idempotency.WaitForFirst;
            });
        });
        builder.ConfigureClient(client => client.AddEventQueueStreams(EventStreams.Provider, Events));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        // Pooled connections keep the file open; close them before deleting it and its WAL companions.
        SqliteConnection.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm", "-journal" })
        {
            try
            {
                File.Delete(_databasePath + suffix);
            }
            catch (IOException)
            {
                // A leftover temp file is harmless; never fail the run over it.
            }
        }
    }

    private static void Copy(WebhookOptions from, WebhookOptions to)
    {
        to.AllowPrivateNetworks = from.AllowPrivateNetworks;
        to.DeliveryTimeout = from.DeliveryTimeout;
        to.AttemptReportTimeout = from.AttemptReportTimeout;
        to.MaxConcurrentPerEndpoint = from.MaxConcurrentPerEndpoint;
        to.RetrySchedule = from.RetrySchedule;
        to.Breaker = from.Breaker;
    }

    /// <summary>The event log as the silos write it, for tests that put events in without publishing them.</summary>
    public EventLog EventLog => new(Database, new WebhookSubscriptions());

    /// <summary>Reads the shared database's event tables.</summary>
    public EventStore EventStore => new(Database);

    /// <summary>Reads and writes the shared database's webhook tables.</summary>
    public WebhookStore WebhookStore => new(Database);

    /// <summary>Deactivates the grain's activation, so its next call reloads it from storage.</summary>
    public Task DeactivateAsync(IAddressable grain) => Cluster.DeactivateAsync(grain);

    /// <summary>Runs one SQL statement (or several) against the shared database.</summary>
    public async Task ExecuteSqlAsync(string sql)
    {
        await using var command = Database.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// An event consumer that does nothing, except for an owner a test holds: a run of that owner then waits in it until
/// the test releases it, so a test can act while the owner's consumer is in the middle of a run.
/// </summary>
public sealed class HeldConsumer : IEventConsumer
{
    private readonly ConcurrentDictionary<string, (TaskCompletionSource Entered, TaskCompletionSource Release)> _held = new(StringComparer.Ordinal);

    /// <summary>Holds the owner's next run; answers when a run entered, and the release.</summary>
    public (Task Entered, Action Release) Hold(string ownerId)
    {
        var hold = (Entered: new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously),
            Release: new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _held[ownerId] = hold;
        return (hold.Entered.Task, () =>
        {
            _held.TryRemove(ownerId, out _);
            hold.Release.TrySetResult();
        });
    }

    public async Task<bool> ConsumeAsync(string ownerId, IReadOnlyList<EventEnvelope> events)
    {
        if (_held.TryGetValue(ownerId, out var hold))
        {
            hold.Entered.TrySetResult();
            await hold.Release.Task;
        }

        return false;
    }
}
