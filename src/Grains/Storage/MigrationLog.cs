using Microsoft.Extensions.Logging;

namespace ApiPlatform.Grains.Storage;

/// <summary>Source-generated log messages of <see cref="DatabaseMigrator"/>.</summary>
internal static partial class MigrationLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Waiting for the {Dialect} migration lock")]
    public static partial void WaitingForLock(ILogger logger, string dialect);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Applied {Dialect} migration {Version:D4}_{Name} in {ElapsedMs} ms")]
    public static partial void Applied(ILogger logger, string dialect, int version, string name, long elapsedMs);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "{Dialect} schema is up to date at version {Version} ({AppliedCount} migration(s) applied now)")]
    public static partial void UpToDate(ILogger logger, string dialect, int version, int appliedCount);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "SQLite journal_mode is '{Mode}', not WAL; readers and the silo may block each other")]
    public static partial void NotWal(ILogger logger, string mode);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Releasing the PostgreSQL migration lock failed; it is released when the connection closes")]
    public static partial void UnlockFailed(ILogger logger, Exception exception);
}
