using System.ComponentModel.DataAnnotations;

namespace ApiPlatform.Gateway.Auth;

/// <summary>Access and refresh token settings (configuration section <c>Jwt</c>).</summary>
public sealed class JwtOptions
{
    public const string Section = "Jwt";

    /// <summary>
    /// HMAC-SHA256 signing key: base64 of at least 32 bytes. Every silo and gateway of a cluster must share it.
    /// The embedded default generates one into its data directory when none is configured.
    /// </summary>
    [Required]
    public string SigningKey { get; set; } = "";

    public string Issuer { get; set; } = "api-platform";

    public string Audience { get; set; } = "api-platform";

    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a session lives without a refresh; each refresh starts it again (sliding).</summary>
    [Range(typeof(TimeSpan), "00:05:00", "365.00:00:00")]
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long a session lives at most, however often it is refreshed (absolute).</summary>
    [Range(typeof(TimeSpan), "00:05:00", "3650.00:00:00")]
    public TimeSpan SessionMaxLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>
    /// How long after a refresh the same refresh token is answered again with the same new pair (the first answer may
    /// have been lost on its way), instead of counting as reuse.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan RefreshRetryWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The decoded key, or null when it is not base64 of at least 32 bytes.</summary>
    public byte[]? KeyBytes()
    {
        var buffer = new byte[SigningKey.Length];
        return Convert.TryFromBase64String(SigningKey, buffer, out var n) && n >= 32 ? buffer[..n] : null;
    }
}
