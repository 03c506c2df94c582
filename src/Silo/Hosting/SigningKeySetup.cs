using System.Security.Cryptography;
using ApiPlatform.Gateway.Auth;

namespace ApiPlatform.Silo.Hosting;

/// <summary>
/// Makes sure <c>Jwt:SigningKey</c> is set. A cluster must share one configured key; the embedded default, when none
/// is configured, generates one into its data directory (so tokens survive restarts) and says so in the log.
/// </summary>
internal static class SigningKeySetup
{
    public const string FileName = "jwt-signing-key";

    public static void Apply(WebApplicationBuilder builder, StorageMode mode)
    {
        var key = builder.Configuration[$"{JwtOptions.Section}:SigningKey"];
        if (!string.IsNullOrWhiteSpace(key))
        {
            return;
        }

        if (mode.IsPostgres)
        {
            throw new InvalidOperationException(
                "Jwt:SigningKey is required with ConnectionStrings:Postgres: every silo must sign with the same key. " +
                "Set it to base64 of 32+ random bytes (e.g. `openssl rand -base64 48`).");
        }

        var path = Path.Combine(mode.DataDirectory, FileName);
        var generated = !File.Exists(path);
        if (generated)
        {
            Directory.CreateDirectory(mode.DataDirectory);
            File.WriteAllText(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        builder.Configuration[$"{JwtOptions.Section}:SigningKey"] = File.ReadAllText(path).Trim();
        // Logging does not exist yet: the host writes this once it has a logger (SchemaMigrationService). Kept per host,
        // not in a static, since tests run several hosts in one process.
        builder.Services.AddSingleton(new StartupNotices(generated
            ? $"Generated a development JWT signing key at {path}. Configure Jwt:SigningKey for production."
            : $"Using the development JWT signing key at {path}. Configure Jwt:SigningKey for production."));
    }
}

/// <summary>A message from before logging existed, written once the host has a logger.</summary>
internal sealed record StartupNotices(string Message);
