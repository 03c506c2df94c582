using ApiPlatform.Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Silo.Hosting;

/// <summary>Where data lives (configuration section <c>Storage</c>, plus <c>ConnectionStrings:Postgres</c>).</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The embedded default's folder: SQLite database and generated development keys.</summary>
    public string DataDirectory { get; set; } = "./data";
}

/// <summary>Checks <see cref="StorageOptions"/> at start-up.</summary>
public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions o) =>
        string.IsNullOrWhiteSpace(o.DataDirectory) ? ValidateOptionsResult.Fail("Storage:DataDirectory must not be empty.") : ValidateOptionsResult.Success;
}

/// <summary>Which storage the process runs on, decided once at start-up.</summary>
public sealed record StorageMode(string? PostgresConnectionString, string DataDirectory)
{
    public bool IsPostgres => PostgresConnectionString is not null;

    public string SqlitePath => Path.Combine(DataDirectory, "platform.db");

    // Default Timeout doubles as SQLite's busy timeout: writers wait for each other instead of failing.
    public string SqliteConnectionString => $"Data Source={SqlitePath};Default Timeout=30;Pooling=True";

    public static StorageMode From(IConfiguration configuration)
    {
        var postgres = configuration.GetConnectionString("Postgres");
        var options = configuration.ReadValidated<StorageOptions, StorageOptionsValidator>(StorageOptions.Section);
        return new StorageMode(string.IsNullOrWhiteSpace(postgres) ? null : postgres, Path.GetFullPath(options.DataDirectory));
    }
}
