using System.Diagnostics;

namespace ApiPlatform.ClusterTests;

/// <summary>The Kubernetes manifests render with kustomize and pass the schema and policy checks, without a cluster.</summary>
public sealed class ManifestTests
{
    [Fact]
    public async Task Every_kustomize_overlay_renders_and_validates()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Orleans.sln")))
        {
            root = root.Parent;
        }

        var script = Path.Combine(root!.FullName, "scripts", "validate-k8s.sh");
        var info = new ProcessStartInfo("bash", [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root.FullName,
        };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.True(process.ExitCode == 0, $"validate-k8s.sh failed:\n{await output}\n{await errors}");
        Assert.Contains("OK", await output, StringComparison.Ordinal);
    }
}
