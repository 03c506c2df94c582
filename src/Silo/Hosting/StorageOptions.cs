namespace ApiPlatform.Silo.Hosting;

/// <summary>Where data lives (configuration section <c>Storage</c>, plus <c>ConnectionStrings:Postgres</c>).</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The embedded default's folder: SQLite database and generated development keys.</summary>
    public string DataDirectory { get; set; } = "./data";
}

/// <summary>Orleans cluster identity and endpoints (configuration section <c>Orleans</c>).</summary>
public sealed class ClusterSettings
{
    public const string Section = "Orleans";

    /// <summary>Silos with the same cluster id form one cluster.</summary>
    public string ClusterId { get; set; } = "api-platform";

    /// <summary>Stable across deployments: grain state and reminders are keyed by it.</summary>
    public string ServiceId { get; set; } = "api-platform";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos reach this one at (a pod's IP on Kubernetes). Defaults to loopback.</summary>
    public string? AdvertisedIPAddress { get; set; }

    /// <summary>Name of this silo in the membership table (a pod's name on Kubernetes).</summary>
    public string? SiloName { get; set; }

    /// <summary>
    /// <c>Silo</c> (default): an Orleans silo with the HTTP API co-hosted. <c>Gateway</c>: the same HTTP API as an
    /// Orleans client of a cluster, to scale the stateless HTTP tier apart from the silos.
    /// </summary>
    public string Role { get; set; } = SiloRole;

    public const string SiloRole = "Silo";
    public const string GatewayRole = "Gateway";

    public bool IsGatewayOnly => string.Equals(Role, GatewayRole, StringComparison.OrdinalIgnoreCase);
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
        var options = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        return new StorageMode(string.IsNullOrWhiteSpace(postgres) ? null : postgres, Path.GetFullPath(options.DataDirectory));
    }
}
