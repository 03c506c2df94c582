namespace ApiPlatform.Tests.Shared;

/// <summary>Files of this repository that tests read or run: scripts, manifests, the Dockerfile, build outputs.</summary>
public static class RepositoryPaths
{
    private static string? _root;

    /// <summary>The repository's root: the nearest folder above the test's build output that holds Orleans.sln.</summary>
    public static string Root => _root ??= Find();

    /// <summary>A path under the repository's root.</summary>
    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Orleans.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Orleans.sln not found above " + AppContext.BaseDirectory);
    }
}
