using System.Data.Common;
using System.Net;
using ApiPlatform.Gateway.Dashboard;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Idempotency;
using ApiPlatform.Grains.Identity;
using ApiPlatform.Grains.Organizations;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Grains.Storage;
using ApiPlatform.Grains.Users;
using ApiPlatform.Silo.Webhooks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// The Orleans silo for each storage mode. Embedded: localhost clustering, grain state in SQLite through Orleans'
/// ADO.NET provider, in-memory reminders. PostgreSQL: ADO.NET clustering, grain state and reminders.
/// </summary>
internal static class OrleansSetup
{
    public static WebApplicationBuilder AddPlatformSilo(this WebApplicationBuilder builder, StorageMode mode, OrleansClusterOptions cluster, bool tracing,
        AdminDashboardOptions dashboard)
    {
        builder.Services.AddSingleton(mode);
        builder.Services.AddSingleton<Gateway.Failover.IClusterChangeSignal, MembershipChangeSignal>();
        builder.Services.AddDatabaseExceptionSerialization();
        builder.Services.TryAddSingleton(ApiClock.System);
        builder.Services.AddValidatedOptions<LoginThrottleOptions, LoginThrottleOptionsValidator>(builder.Configuration, LoginThrottleOptions.Section);
        builder.Services.AddValidatedOptions<IdempotencyOptions, IdempotencyOptionsValidator>(builder.Configuration, IdempotencyOptions.Section);
        builder.Services.AddValidatedOptions<ActivationCollectionOptions, ActivationCollectionOptionsValidator>(builder.Configuration, ActivationCollectionOptions.Section);
        // The project's own tables (resources, counters, idempotency keys) live in the same database as grain state.
        builder.Services.AddSingleton<DbDataSource>(_ => mode.IsPostgres
            ? NpgsqlDataSource.Create(ProjectConnectionString(mode.PostgresConnectionString!))
            : SqliteFactory.Instance.CreateDataSource(mode.SqliteConnectionString));
        builder.Services.AddSingleton(sp => new Database(sp.GetRequiredService<DbDataSource>(), mode.IsPostgres ? SqlDialect.Postgres : SqlDialect.Sqlite));
        builder.Services.AddSingleton<ResourceStore>();
        builder.Services.AddSingleton<ResourceTypeStore>();
        builder.Services.AddSingleton<ResourceSchemas>();
        builder.Services.AddSingleton<ResourceWritePolicy>();
        builder.Services.AddSingleton<ResourceIndexSignal>();
        builder.Services.AddSingleton<IdempotencyStore>();
        builder.Services.AddSingleton<OrganizationStore>();
        builder.Services.AddSingleton<UserDirectoryStore>();
        builder.Services.AddSingleton<SessionStore>();
        builder.Services.AddSingleton<Grains.ApiKeys.ApiKeyStore>();
        builder.Services.TryAddSingleton<Grains.LocalHolders>();
        builder.Services.AddSingleton<AccountTokenStore>();
        builder.Services.AddValidatedOptions<AccountRetentionOptions, AccountRetentionOptionsValidator>(builder.Configuration, AccountRetentionOptions.Section);
        builder.Services.AddSingleton<UniqueClaimStore>();

        // Registered before UseOrleans: hosted services start in order, and the silo needs the schema.
        builder.Services.AddHostedService<SchemaMigrationService>();

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            if (cluster.SiloName is { Length: > 0 } name)
            {
                silo.Configure<SiloOptions>(o => o.SiloName = name);
            }

            // The shipped failure detection (FailureDetection), then whatever Orleans:Membership:* sets explicitly.
            silo.Configure<ClusterMembershipOptions>(FailureDetection.ApplyShippedDefaults);
            silo.Configure<ClusterMembershipOptions>(builder.Configuration.GetSection(FailureDetection.MembershipSection));
            var responseTimeout = FailureDetection.ResponseTimeout(builder.Configuration);
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = responseTimeout);
            silo.Services.AddOptions<GrainCollectionOptions>()
                .Configure<IOptions<ActivationCollectionOptions>>((o, collection) => collection.Value.ApplyTo(o));
            silo.UseSystemTextJsonGrainStorageSerializer();
            if (tracing)
            {
                // Carries the trace context in each grain call's RequestContext, so a request is one trace across
                // silos. Only with tracing on: the filters would cost every grain call for spans nobody records.
                silo.AddActivityPropagation();
            }

            if (dashboard.Enabled)
            {
                silo.AddPlatformDashboard(dashboard);
            }

            var tls = builder.Configuration.ReadValidated<OrleansTlsOptions, OrleansTlsOptionsValidator>(OrleansTlsOptions.Section);
            if (tls.Enabled)
            {
                var certificate = tls.LoadCertificate();
                silo.UseTls(certificate, o => tls.Apply(o, certificate));
            }

            silo.AddEventStreams(builder.Configuration);
            if (mode.IsPostgres)
            {
                var address = cluster.AdvertisedIPAddress is { Length: > 0 } ip ? IPAddress.Parse(ip) : IPAddress.Loopback;
                silo.ConfigureEndpoints(address, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
                // Orleans' own SQL keeps no session state either: without the DISCARD ALL on every pooled connection's
                // reuse, a grain-state read is one round trip, not two (bench/README.md, many tenants).
                var orleansConnection = ProjectConnectionString(mode.PostgresConnectionString!);
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = DatabaseMigrator.PostgresInvariant;
                    o.ConnectionString = orleansConnection;
                });
                silo.AddAdoNetGrainStorage(GrainStorage.Main, o =>
                {
                    o.Invariant = DatabaseMigrator.PostgresInvariant;
                    o.ConnectionString = orleansConnection;
                    o.DeleteStateOnClear = true;
                });
                silo.UseAdoNetReminderService(o =>
                {
                    o.Invariant = DatabaseMigrator.PostgresInvariant;
                    o.ConnectionString = orleansConnection;
                });
            }
            else
            {
                DatabaseMigrator.RegisterSqliteProviderFactory();
                silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
                silo.AddAdoNetGrainStorage(GrainStorage.Main, o =>
                {
                    o.Invariant = DatabaseMigrator.SqliteInvariant;
                    o.ConnectionString = mode.SqliteConnectionString;
                    o.DeleteStateOnClear = true;
                });
                silo.UseInMemoryReminderService();
            }
        });

        builder.Services.AddHostedService<IdempotencyPurgeService>();
        builder.Services.AddHostedService<AccountPurgeService>();
        // Re-indexes resources after a type's indexes change: after the silo, since it tells the type's grain.
        builder.Services.AddHostedService<ResourceIndexBuilder>();
        // The event log, streams, webhook delivery and the recovery sweep's start: after the schema migration.
        builder.AddEventPath();
        builder.Services.AddHealthChecks()
            .AddCheck<SiloReadinessCheck>("silo", tags: [Gateway.Endpoints.HealthApi.ReadyTag])
            .AddCheck<StorageReadinessCheck>("storage", tags: [Gateway.Endpoints.HealthApi.ReadyTag]);
        return builder;
    }

    internal static string ProjectConnectionString(string connectionString) =>
        ProjectConnectionString(connectionString, Environment.ProcessorCount);

    /// <summary>
    /// The silo's connection string (its own SQL and Orleans' alike) with the project's defaults for whatever the given
    /// one leaves unset. What the text sets wins, read in Npgsql's canonical keywords (a synonym such as MaxPoolSize
    /// counts): the builder's own ContainsKey answers whether a keyword exists at all (always true), which had once
    /// left auto-prepare off.
    /// </summary>
    internal static string ProjectConnectionString(string connectionString, int processors)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var given = new DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };

        // No Reset On Close: the project's SQL keeps no session state (its locks are transaction-scoped), so the
        // DISCARD ALL that Npgsql would send on every pooled connection's reuse is a wasted round trip.
        builder.NoResetOnClose = true;

        // The same few statements run again and again with new parameters: prepared once per connection, later calls
        // skip PostgreSQL's parse and plan.
        if (!given.ContainsKey("Max Auto Prepare"))
        {
            builder.MaxAutoPrepare = 64;
        }

        if (!given.ContainsKey("Auto Prepare Min Usages"))
        {
            builder.AutoPrepareMinUsages = 2;
        }

        // A few connections per core instead of Npgsql's 100: a silo's statements are short, so more connections than
        // it can keep busy only queue its work inside PostgreSQL (each backend waiting on this process's CPU) instead
        // of in the pool, and lengthen the tail (bench/README.md, "The connection pool"). It also bounds what a
        // scaled-out cluster asks of the server. A silo has two such pools: its data source's and the one Npgsql keeps
        // for Orleans' providers (they open connections from the string).
        if (!given.ContainsKey("Maximum Pool Size"))
        {
            builder.MaxPoolSize = DefaultMaxPoolSize(processors);
        }

        return builder.ConnectionString;
    }

    /// <summary>The pool's size when the connection string does not set one: three connections per core, at least six.</summary>
    internal static int DefaultMaxPoolSize(int processors) => Math.Max(6, 3 * processors);
}
