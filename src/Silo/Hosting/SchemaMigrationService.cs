using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// Creates or upgrades the database schema before the silo starts (it is registered ahead of Orleans, and hosted
/// services start in order), so a fresh database just works. Safe when several silos start at once. Then it readies the
/// data source's array parameters (<see cref="Database.WarmUpAsync"/>) so the first requests do not pay for that.
/// </summary>
internal sealed class SchemaMigrationService(StorageMode mode, Database database, IEnumerable<StartupNotices> notices,
    ILogger<SchemaMigrationService> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var notice in notices)
        {
            logger.LogWarning("{Notice}", notice.Message);
        }

        if (mode.IsPostgres)
        {
            await DatabaseMigrator.MigratePostgresAsync(mode.PostgresConnectionString!, logger, cancellationToken);
            await database.WarmUpAsync(cancellationToken);
        }
        else
        {
            Directory.CreateDirectory(mode.DataDirectory);
            await DatabaseMigrator.MigrateSqliteAsync(mode.SqliteConnectionString, logger, cancellationToken);
            logger.LogInformation("Embedded storage: {Path}", mode.SqlitePath);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
