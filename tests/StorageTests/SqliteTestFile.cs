using Microsoft.Data.Sqlite;

namespace ApiPlatform.StorageTests;

/// <summary>A SQLite database file in its own temp directory, deleted (with WAL files) on dispose.</summary>
internal sealed class SqliteTestFile : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "storage-tests-" + Guid.NewGuid().ToString("N"));

    public string FilePath => Path.Combine(directory, "grains.db");

    // Pooling off: pooled handles would keep the file open after the test and block deletion.
    public string ConnectionString => new SqliteConnectionStringBuilder { DataSource = FilePath, Pooling = false }.ToString();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
