using System.Globalization;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>
/// Browser-facing protections on every response, errors and framework answers included: no MIME sniffing, no
/// referrer, no framing, a content security policy (nothing at all for API JSON; the Swagger UI and Orleans Dashboard
/// pages get what they need from their own origin), and HSTS on responses that went out over HTTPS (directly or, with
/// <c>ForwardedHeaders</c>, as reported by a trusted proxy).
/// </summary>
public sealed class SecurityHeadersMiddleware(RequestDelegate next, IOptions<GatewayOptions> options)
{
    /// <summary>API responses are data, never a document: nothing may load, run or frame them.</summary>
    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>Swagger UI: its scripts, styles and the OpenAPI document from this origin; inline styles (its SVG icons use them) and data: images.</summary>
    public const string SwaggerUiPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        + "font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>
    /// The Orleans Dashboard (administrators only): its module script, stylesheet, fonts and images from this origin, the
    /// inline styles its markup carries, and its own JSON API.
    /// </summary>
    public const string DashboardPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        + "font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    private readonly string? _hsts = options.Value.HstsMaxAge > TimeSpan.Zero
        ? "max-age=" + ((long)options.Value.HstsMaxAge.TotalSeconds).ToString(CultureInfo.InvariantCulture)
            + (options.Value.HstsIncludeSubDomains ? "; includeSubDomains" : "")
        : null;

    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        var path = context.Request.Path;
        headers.ContentSecurityPolicy = path.StartsWithSegments("/swagger", StringComparison.OrdinalIgnoreCase)
            ? SwaggerUiPolicy
            : path.StartsWithSegments("/dashboard", StringComparison.OrdinalIgnoreCase)
                ? DashboardPolicy
                : ApiPolicy;
        // RFC 6797: only over a secure transport; a browser ignores it on plain HTTP anyway.
        if (_hsts is not null && context.Request.IsHttps)
        {
            headers.StrictTransportSecurity = _hsts;
        }

        return next(context);
    }
}

/// <summary>Route conventions for responses that carry secrets.</summary>
public static class SecretResponseExtensions
{
    /// <summary>
    /// The response shows a secret (tokens, an API key, a webhook signing secret): no cache, shared or private, may
    /// keep it (<c>Cache-Control: no-store</c>, and <c>Pragma: no-cache</c> for HTTP/1.0 caches).
    /// </summary>
    public static TBuilder CarriesSecrets<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var headers = context.HttpContext.Response.Headers;
            headers.CacheControl = "no-store";
            headers.Pragma = "no-cache";
            return await next(context);
        });
        return builder;
    }
}
