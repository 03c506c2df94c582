namespace ApiPlatform.Grains;

/// <summary>Names of the grain storage providers the silo configures.</summary>
public static class GrainStorage
{
    /// <summary>Durable state: SQLite in the embedded default, PostgreSQL in a cluster.</summary>
    public const string Main = "main";
}
