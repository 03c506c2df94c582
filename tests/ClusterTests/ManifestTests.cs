using System.Diagnostics;

namespace ApiPlatform.ClusterTests;

/// <summary>The Kubernetes manifests render with kustomize and pass the schema and policy checks, without a cluster.</summary>
public sealed class ManifestTests
{
    [Fact]
    public async Task Every_kustomize_overlay_renders_and_validates()
    {
        var script = RepositoryPaths.Of("scripts", "validate-k8s.sh");
        var info = new ProcessStartInfo("bash", [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryPaths.Root,
        };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.True(process.ExitCode == 0, $"validate-k8s.sh failed:\n{await output}\n{await errors}");
        Assert.Contains("OK", await output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The young generation's size can only be given to the runtime as an environment variable, so the image and the
    /// launch profile of <c>dotnet run</c> each carry it; they must agree, and the value must be one the runtime
    /// reads (hexadecimal, without a prefix or with 0x).
    /// </summary>
    [Fact]
    public void The_image_and_dotnet_run_give_the_silo_the_same_young_generation()
    {
        var image = File.ReadLines(RepositoryPaths.Of("Dockerfile"))
            .Select(line => line.Trim())
            .Where(line => line.StartsWith("ENV DOTNET_GCgen0size=", StringComparison.Ordinal))
            .Select(line => line["ENV DOTNET_GCgen0size=".Length..])
            .Single();
        using var launch = System.Text.Json.JsonDocument.Parse(
            File.ReadAllText(RepositoryPaths.Of("src", "Silo", "Properties", "launchSettings.json")));
        var profile = launch.RootElement.GetProperty("profiles").EnumerateObject().First().Value;
        var run = profile.GetProperty("environmentVariables").GetProperty("DOTNET_GCgen0size").GetString();

        Assert.Equal(image, run);
        var digits = image.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? image[2..] : image;
        var bytes = long.Parse(digits, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(bytes, 16L << 20, 256L << 20);
    }
}
