using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>HTTP edge settings (configuration section <c>Gateway</c>).</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Largest accepted request body in bytes; larger ones get 413 before any grain is called.</summary>
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024;

    /// <summary>Longest request line (method, target with query, protocol) answered normally; longer is 414.</summary>
    public int MaxRequestLineBytes { get; set; } = 8 * 1024;

    /// <summary>Largest total size of the request headers answered normally; larger is 431.</summary>
    public int MaxRequestHeadersBytes { get; set; } = 32 * 1024;

    /// <summary>Most header lines answered normally; more is 431.</summary>
    public int MaxRequestHeaderCount { get; set; } = 100;

    /// <summary>
    /// Kestrel's own request-line and header limits are this multiple of the ones above, so a request over them reaches
    /// <see cref="RequestLimitsMiddleware"/> and gets problem details instead of Kestrel's bodyless refusal.
    /// </summary>
    public const int KestrelLimitFactor = 2;

    /// <summary>
    /// Runs request processing on the socket's I/O thread instead of handing it to the thread pool (Kestrel's
    /// <c>UnsafePreferInlineScheduling</c>): one thread hop less per request. Off by default: it saves CPU per GET one,
    /// but in the compare harness it lengthened the first-page list's tail, with stalls (figures in bench/COMPARE.md).
    /// Nothing on the request path blocks (password hashing
    /// is handed to the thread pool, storage I/O runs in grains), so it is safe to turn on for GET-heavy loads.
    /// </summary>
    public bool InlineScheduling { get; set; }

    /// <summary>
    /// Serves the OpenAPI document (<c>/swagger/v1/swagger.json</c>) and Swagger UI (<c>/swagger</c>). Unset: on in every
    /// environment except <c>Production</c>, where the API's map is not handed to anyone who asks unless this is true.
    /// </summary>
    public bool? ExposeOpenApi { get; set; }

    /// <summary><c>Strict-Transport-Security</c> max-age on responses served over HTTPS; zero sends no HSTS header.</summary>
    public TimeSpan HstsMaxAge { get; set; } = TimeSpan.FromDays(365);

    /// <summary>Adds <c>includeSubDomains</c> to HSTS (only when every subdomain of the API's host serves HTTPS).</summary>
    public bool HstsIncludeSubDomains { get; set; }

    /// <summary>Whether the OpenAPI document and Swagger UI are served in <paramref name="environment"/>.</summary>
    public bool OpenApiExposedIn(IHostEnvironment environment) => ExposeOpenApi ?? !environment.IsProduction();
}

/// <summary>Checks <see cref="GatewayOptions"/> at start-up.</summary>
public sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions o)
    {
        var errors = new List<string>();
        if (o.MaxRequestBodyBytes is < 256 or > 64 * 1024 * 1024)
        {
            errors.Add("Gateway:MaxRequestBodyBytes must be from 256 to 67108864.");
        }

        if (o.MaxRequestLineBytes is < 1024 or > 1024 * 1024)
        {
            errors.Add("Gateway:MaxRequestLineBytes must be from 1024 to 1048576.");
        }

        if (o.MaxRequestHeadersBytes is < 4 * 1024 or > 4 * 1024 * 1024)
        {
            errors.Add("Gateway:MaxRequestHeadersBytes must be from 4096 to 4194304.");
        }

        if (o.MaxRequestHeaderCount is < 10 or > 10_000)
        {
            errors.Add("Gateway:MaxRequestHeaderCount must be from 10 to 10000.");
        }

        if (o.HstsMaxAge < TimeSpan.Zero)
        {
            errors.Add("Gateway:HstsMaxAge must not be negative.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
