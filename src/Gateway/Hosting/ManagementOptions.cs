using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>The management listener (configuration section <c>Management</c>).</summary>
public sealed class ManagementOptions
{
    public const string Section = "Management";

    /// <summary>
    /// Where <c>GET /metrics</c> (Prometheus text format) is served, apart from the public API: semicolon-separated
    /// URLs, <c>http://0.0.0.0:9464</c> in a pod. Empty turns the listener off.
    /// </summary>
    public string Urls { get; set; } = "http://localhost:9464";

    /// <summary>
    /// A bearer token that opens the Orleans Dashboard without an administrator's login (for operators' scripts and
    /// break-glass access). Unset: only signed-in administrators get in.
    /// </summary>
    public string? Token { get; set; }

    public static List<string> Split(string? urls) =>
        [.. (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}

/// <summary>Validates <see cref="ManagementOptions"/> at start-up.</summary>
public sealed class ManagementOptionsValidator : IValidateOptions<ManagementOptions>
{
    /// <summary>Shortest management token accepted: it is a password that never expires.</summary>
    public const int MinTokenLength = 32;

    public ValidateOptionsResult Validate(string? name, ManagementOptions options)
    {
        foreach (var url in ManagementOptions.Split(options.Urls))
        {
            if (!Uri.TryCreate(url.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal),
                    UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.AbsolutePath != "/")
            {
                return ValidateOptionsResult.Fail($"Management:Urls: '{url}' is not an http://host:port URL.");
            }
        }

        return options.Token is { } token && token.Length < MinTokenLength
            ? ValidateOptionsResult.Fail($"Management:Token must be at least {MinTokenLength} characters.")
            : ValidateOptionsResult.Success;
    }
}
