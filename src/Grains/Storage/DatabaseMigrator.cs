using System.Data;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace ApiPlatform.Grains.Storage;

/// <summary>
/// Creates and upgrades the database objects that Orleans' ADO.NET clustering, persistence and
/// reminder providers need (Orleans never creates them itself), from the versioned scripts
/// embedded under <c>Storage/Migrations/&lt;dialect&gt;/</c>.
/// </summary>
/// <remarks>
/// Applied versions are recorded in <c>schema_migrations</c>; each pending script runs once, in
/// order, in its own transaction together with its bookkeeping row, so a failed script leaves
/// nothing half-applied. Running again is a no-op. Several silos may start against the same empty
/// database at once: PostgreSQL runs are serialised by a session advisory lock, SQLite scripts by
/// <c>BEGIN IMMEDIATE</c> (the write lock is taken before the applied check).
/// </remarks>
public sealed class DatabaseMigrator
{
    /// <summary>ADO.NET invariant to configure in the Orleans providers for PostgreSQL.</summary>
    public const string PostgresInvariant = "Npgsql";

    /// <summary>
    /// ADO.NET invariant to configure in the Orleans persistence provider for SQLite. Orleans 10.4.x
    /// serves this name with Microsoft.Data.Sqlite; it rejects "Microsoft.Data.Sqlite" as unknown.
    /// </summary>
    public const string SqliteInvariant = "System.Data.SQLite";

    /// <summary>
    /// Key of the PostgreSQL session advisory lock held for a whole migration run ("ApiPlMig").
    /// Grain-state writes use two-int advisory keys, which live in a separate key space.
    /// </summary>
    public const long PostgresMigrationLockKey = 0x4170_6950_6C4D_6967;

    private const string PostgresDialect = "postgresql";
    private const string SqliteDialect = "sqlite";

    private static readonly Lazy<IReadOnlyList<MigrationScript>> PostgresScriptsLazy = new(() => LoadScripts(PostgresDialect));
    private static readonly Lazy<IReadOnlyList<MigrationScript>> SqliteScriptsLazy = new(() => LoadScripts(SqliteDialect));

    private DatabaseMigrator()
    {
    }

    /// <summary>The embedded PostgreSQL scripts, ordered by version.</summary>
    public static IReadOnlyList<MigrationScript> PostgresScripts => PostgresScriptsLazy.Value;

    /// <summary>The embedded SQLite scripts, ordered by version.</summary>
    public static IReadOnlyList<MigrationScript> SqliteScripts => SqliteScriptsLazy.Value;

    /// <summary>Brings a PostgreSQL database up to the latest schema.</summary>
    /// <param name="connectionString">Npgsql connection string of the (existing) target database.</param>
    /// <param name="logger">Optional logger; progress is logged at Information level.</param>
    /// <param name="ct">Cancels waiting for the lock and the running script (its transaction rolls back).</param>
    public static async Task MigratePostgresAsync(string connectionString, ILogger? logger, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await MigratePostgresAsync(dataSource, logger, ct).ConfigureAwait(false);
    }

    /// <summary>Brings a PostgreSQL database up to the latest schema.</summary>
    /// <param name="dataSource">Data source of the (existing) target database.</param>
    /// <param name="logger">Optional logger; progress is logged at Information level.</param>
    /// <param name="ct">Cancels waiting for the lock and the running script (its transaction rolls back).</param>
    public static async Task MigratePostgresAsync(NpgsqlDataSource dataSource, ILogger? logger, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        if (new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).Multiplexing)
        {
            // Multiplexing spreads one connection's commands over several server sessions, which
            // breaks the session advisory lock and the per-script transactions.
            throw new ArgumentException("Migrations need a data source without Multiplexing.", nameof(dataSource));
        }

        var log = logger ?? NullLogger.Instance;
        var scripts = PostgresScripts;

        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);

        // A session-level lock (not a transaction-level one) because it must span several
        // transactions: the bookkeeping table plus one transaction per script. Waiting has no
        // command timeout; another instance's run can legitimately take a while, and `ct` still
        // cancels the wait.
        MigrationLog.WaitingForLock(log, PostgresDialect);
        await ExecuteAsync(connection, null, "SELECT pg_advisory_lock(@key)", 0, ct, ("key", PostgresMigrationLockKey)).ConfigureAwait(false);
        try
        {
            // Created under the lock: concurrent CREATE TABLE IF NOT EXISTS can still collide in
            // PostgreSQL's catalogs.
            await ExecuteAsync(connection, null, """
                CREATE TABLE IF NOT EXISTS schema_migrations
                (
                    version    integer     NOT NULL PRIMARY KEY,
                    name       text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                );
                """, 30, ct).ConfigureAwait(false);

            var applied = await ReadAppliedVersionsAsync(connection, null, ct).ConfigureAwait(false);
            var appliedNow = 0;
            foreach (var script in scripts)
            {
                if (applied.Contains(script.Version))
                {
                    continue;
                }

                var stopwatch = Stopwatch.StartNew();
                await using (var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false))
                {
                    // The whole file is one command: Npgsql splits statements itself and
                    // understands dollar-quoted function bodies, so no naive split on ';'.
                    await ExecuteAsync(connection, transaction, script.Sql, 300, ct).ConfigureAwait(false);
                    await ExecuteAsync(connection, transaction, "INSERT INTO schema_migrations (version, name) VALUES (@version, @name)", 30, ct,
                        ("version", script.Version), ("name", script.Name)).ConfigureAwait(false);
                    await transaction.CommitAsync(ct).ConfigureAwait(false);
                }

                appliedNow++;
                MigrationLog.Applied(log, PostgresDialect, script.Version, script.Name, stopwatch.ElapsedMilliseconds);
            }

            await VerifyQueryKeysAsync(connection, OrleansQueryKeys.Postgres, PostgresDialect, ct).ConfigureAwait(false);
            MigrationLog.UpToDate(log, PostgresDialect, LatestVersion(scripts), appliedNow);
        }
        finally
        {
            try
            {
                // Not `ct`: the lock must be released even when the run was cancelled.
                await ExecuteAsync(connection, null, "SELECT pg_advisory_unlock(@key)", 30, CancellationToken.None, ("key", PostgresMigrationLockKey)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is DbException or InvalidOperationException)
            {
                // Session locks die with the session, and a pooled connection is reset
                // (DISCARD ALL) before reuse, so a failed unlock cannot leak the lock.
                MigrationLog.UnlockFailed(log, ex);
            }
        }
    }

    /// <summary>
    /// Brings a SQLite database file up to the latest schema (grain persistence only) and switches
    /// it to write-ahead logging. Creates the file and its directory when missing.
    /// </summary>
    /// <param name="connectionString">Microsoft.Data.Sqlite connection string, e.g. <c>Data Source=/data/grains.db</c>.</param>
    /// <param name="logger">Optional logger; progress is logged at Information level.</param>
    /// <param name="ct">Cancels between and during scripts (the running script's transaction rolls back).</param>
    public static async Task MigrateSqliteAsync(string connectionString, ILogger? logger, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var log = logger ?? NullLogger.Instance;
        var scripts = SqliteScripts;

        EnsureSqliteDirectoryExists(connectionString);
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);

        // WAL lets the silo write while other connections read. The mode is stored in the file,
        // so setting it once here covers every later connection; it cannot be changed inside a
        // transaction, hence before the scripts.
        var mode = Convert.ToString(await ScalarAsync(connection, null, "PRAGMA journal_mode=WAL;", ct).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            MigrationLog.NotWal(log, mode ?? "<null>");
        }

        // A single statement is atomic in SQLite, so concurrent creators cannot collide here.
        await ExecuteAsync(connection, null, """
            CREATE TABLE IF NOT EXISTS schema_migrations
            (
                version    INTEGER NOT NULL PRIMARY KEY,
                name       TEXT    NOT NULL,
                applied_at TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
            );
            """, 30, ct).ConfigureAwait(false);

        var appliedNow = 0;
        foreach (var script in scripts)
        {
            var stopwatch = Stopwatch.StartNew();

            // deferred: false + Serializable is BEGIN IMMEDIATE: the database write lock is taken
            // before the "already applied?" check, so two processes cannot both decide to run a
            // script. A waiting process retries on SQLITE_BUSY up to the command timeout.
            await using var transaction = (SqliteTransaction)await Task.Run(
                () => connection.BeginTransaction(IsolationLevel.Serializable, deferred: false), ct).ConfigureAwait(false);

            var alreadyApplied = await ScalarAsync(connection, transaction, "SELECT 1 FROM schema_migrations WHERE version = @version", ct, ("version", script.Version)).ConfigureAwait(false);
            if (alreadyApplied is not null)
            {
                await transaction.RollbackAsync(ct).ConfigureAwait(false);
                continue;
            }

            // Microsoft.Data.Sqlite runs every statement of a multi-statement command in order.
            await ExecuteAsync(connection, transaction, script.Sql, 300, ct).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "INSERT INTO schema_migrations (version, name) VALUES (@version, @name)", 30, ct,
                ("version", script.Version), ("name", script.Name)).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);

            appliedNow++;
            MigrationLog.Applied(log, SqliteDialect, script.Version, script.Name, stopwatch.ElapsedMilliseconds);
        }

        await VerifyQueryKeysAsync(connection, OrleansQueryKeys.Sqlite, SqliteDialect, ct).ConfigureAwait(false);
        MigrationLog.UpToDate(log, SqliteDialect, LatestVersion(scripts), appliedNow);
    }

    /// <summary>
    /// Registers Microsoft.Data.Sqlite's factory under <see cref="SqliteInvariant"/> with
    /// <see cref="DbProviderFactories"/>. Safe to call any number of times.
    /// </summary>
    /// <remarks>
    /// Orleans 10.4.x itself resolves <see cref="SqliteInvariant"/> to
    /// <c>Microsoft.Data.Sqlite.SqliteFactory</c> by reflection and does not consult
    /// <see cref="DbProviderFactories"/>; the registration serves any other code that looks the
    /// invariant up the standard way.
    /// </remarks>
    public static void RegisterSqliteProviderFactory()
    {
        // RegisterFactory replaces an existing registration under the same name, so repeated
        // calls (several hosts in one process, tests) are harmless.
        DbProviderFactories.RegisterFactory(SqliteInvariant, SqliteFactory.Instance);
    }

    private static IReadOnlyList<MigrationScript> LoadScripts(string dialect)
    {
        var assembly = typeof(DatabaseMigrator).Assembly;

        // Manifest names are "<RootNamespace>.Storage.Migrations.<dialect>.<file>"; only the
        // folder names are part of the contract, not the root namespace.
        var marker = $".Storage.Migrations.{dialect}.";
        var scripts = new List<MigrationScript>();
        foreach (var resourceName in assembly.GetManifestResourceNames())
        {
            var markerIndex = resourceName.IndexOf(marker, StringComparison.Ordinal);
            if (markerIndex < 0 || !resourceName.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            var fileName = resourceName[(markerIndex + marker.Length)..^".sql".Length];
            var separator = fileName.IndexOf('_', StringComparison.Ordinal);
            if (separator <= 0
                || !int.TryParse(fileName.AsSpan(0, separator), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
                || separator == fileName.Length - 1)
            {
                throw new InvalidOperationException($"Migration resource '{resourceName}' is not named NNNN_name.sql.");
            }

            using var stream = assembly.GetManifestResourceStream(resourceName)
                ?? throw new InvalidOperationException($"Migration resource '{resourceName}' could not be opened.");
            using var reader = new StreamReader(stream);
            scripts.Add(new MigrationScript(version, fileName[(separator + 1)..], reader.ReadToEnd()));
        }

        scripts.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < scripts.Count; i++)
        {
            if (scripts[i].Version == scripts[i - 1].Version)
            {
                throw new InvalidOperationException(
                    $"Two {dialect} migrations share version {scripts[i].Version}: '{scripts[i - 1].Name}' and '{scripts[i].Name}'.");
            }
        }

        if (scripts.Count == 0)
        {
            // Guards against a build that silently stopped embedding the scripts.
            throw new InvalidOperationException($"No embedded {dialect} migrations found in {assembly.GetName().Name}.");
        }

        return scripts;
    }

    private static int LatestVersion(IReadOnlyList<MigrationScript> scripts) => scripts[^1].Version;

    private static async Task<HashSet<int>> ReadAppliedVersionsAsync(DbConnection connection, DbTransaction? transaction, CancellationToken ct)
    {
        var versions = new HashSet<int>();
        await using var command = CreateCommand(connection, transaction, "SELECT version FROM schema_migrations", 30);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            versions.Add(Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture));
        }

        return versions;
    }

    // Catches a script that forgot a key (or a hand-edited OrleansQuery) at migration time
    // rather than as a provider start-up failure later.
    private static async Task VerifyQueryKeysAsync(DbConnection connection, IReadOnlyList<string> expected, string dialect, CancellationToken ct)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = CreateCommand(connection, null, "SELECT QueryKey FROM OrleansQuery", 30))
        await using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                present.Add(reader.GetString(0));
            }
        }

        var missing = expected.Where(key => !present.Contains(key)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"The {dialect} OrleansQuery table lacks keys Orleans needs: {string.Join(", ", missing)}.");
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, int timeoutSeconds, CancellationToken ct,
        params (string Name, object Value)[] parameters)
    {
        await using var command = CreateCommand(connection, transaction, sql, timeoutSeconds, parameters);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken ct,
        params (string Name, object Value)[] parameters)
    {
        await using var command = CreateCommand(connection, transaction, sql, 30, parameters);
        var result = await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return result is DBNull ? null : result;
    }

    private static DbCommand CreateCommand(DbConnection connection, DbTransaction? transaction, string sql, int timeoutSeconds,
        params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = timeoutSeconds;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private static void EnsureSqliteDirectoryExists(string connectionString)
    {
        var dataSource = new SqliteConnectionStringBuilder(connectionString).DataSource;
        if (string.IsNullOrEmpty(dataSource)
            || dataSource.StartsWith(':')
            || dataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            // In-memory databases and URI file names are left to SQLite.
            return;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(dataSource));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
    }
}
