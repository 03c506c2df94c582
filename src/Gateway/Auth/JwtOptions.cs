using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Auth;

/// <summary>Access and refresh token settings (configuration section <c>Jwt</c>).</summary>
public sealed class JwtOptions
{
    public const string Section = "Jwt";

    /// <summary>
    /// HMAC-SHA256 signing key: base64 of at least 32 bytes. Every silo and gateway of a cluster must share it.
    /// The embedded default generates one into its data directory when none is configured.
    /// </summary>
    public string SigningKey { get; set; } = "";

    public string Issuer { get; set; } = "api-platform";

    public string Audience { get; set; } = "api-platform";

    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a session lives without a refresh; each refresh starts it again (sliding).</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long a session lives at most, however often it is refreshed (absolute).</summary>
    public TimeSpan SessionMaxLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>
    /// How long after a refresh the same refresh token is answered again with the same new pair (the first answer may
    /// have been lost on its way), instead of counting as reuse.
    /// </summary>
    public TimeSpan RefreshRetryWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The decoded key, or null when it is not base64 of at least 32 bytes.</summary>
    public byte[]? KeyBytes()
    {
        var buffer = new byte[SigningKey.Length];
        return Convert.TryFromBase64String(SigningKey, buffer, out var n) && n >= 32 ? buffer[..n] : null;
    }
}

/// <summary>Checks <see cref="JwtOptions"/> at start-up.</summary>
public sealed class JwtOptionsValidator : IValidateOptions<JwtOptions>
{
    public ValidateOptionsResult Validate(string? name, JwtOptions o)
    {
        var errors = new List<string>();
        if (o.KeyBytes() is null)
        {
            errors.Add("Jwt:SigningKey must be base64 of at least 32 random bytes.");
        }

        Within(errors, "AccessTokenLifetime", o.AccessTokenLifetime, TimeSpan.FromMinutes(1), TimeSpan.FromDays(1));
        Within(errors, "RefreshTokenLifetime", o.RefreshTokenLifetime, TimeSpan.FromMinutes(5), TimeSpan.FromDays(365));
        Within(errors, "SessionMaxLifetime", o.SessionMaxLifetime, TimeSpan.FromMinutes(5), TimeSpan.FromDays(3650));
        Within(errors, "RefreshRetryWindow", o.RefreshRetryWindow, TimeSpan.Zero, TimeSpan.FromMinutes(5));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Within(List<string> errors, string setting, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add($"Jwt:{setting} must be from {min} to {max}.");
        }
    }
}
