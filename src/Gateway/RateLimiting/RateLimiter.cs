using System.Globalization;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Grains;
using ApiPlatform.Grains.RateLimiting;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.RateLimiting;

/// <summary>
/// Charges each request to its credential's <see cref="IRateLimitGrain"/> (API key, user for an access token, client
/// address otherwise), writes the rate-limit headers on every response, and refuses with 429 once the window is
/// spent. A refused request goes no further, so it costs no other grain call.
/// </summary>
public sealed class RateLimiter(IGrainFactory grains, IOptions<RateLimitOptions> options, ApiClock clock)
{
    public Task ChargeAsync(HttpContext context, Caller caller) =>
        ChargeAsync(context, caller.ApiKeyId is { } keyId ? "key:" + keyId : "user:" + caller.UserId, caller.Plan, options.Value.For(caller.Plan));

    public Task ChargeAnonymousAsync(HttpContext context) =>
        ChargeAsync(context, "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown"), "anonymous", options.Value.Anonymous);

    private async Task ChargeAsync(HttpContext context, string credential, string policyName, RateLimitSettings settings)
    {
        if (settings.Limit == 0)
        {
            // An unlimited plan (e.g. for internal traffic or benchmarks): nothing to count.
            return;
        }
        var policy = new RateLimitPolicy(policyName, settings.Limit, settings.WindowSeconds);
        var decision = await grains.GetGrain<IRateLimitGrain>(credential + "|" + policyName).AcquireAsync(policy);

        var headers = context.Response.Headers;
        var resetIn = Math.Max(0, (long)Math.Ceiling((decision.ResetAt - clock.UtcNow).TotalSeconds));
        headers["X-RateLimit-Limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = decision.ResetAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        // IETF draft-ietf-httpapi-ratelimit-headers: the policy, and what is left of it.
        headers["RateLimit-Policy"] = $"\"{policyName}\";q={settings.Limit};w={settings.WindowSeconds}";
        headers["RateLimit"] = $"\"{policyName}\";r={decision.Remaining};t={resetIn}";

        if (!decision.Allowed)
        {
            throw ApiException.TooManyRequests(
                $"The rate limit of {settings.Limit} requests per {settings.WindowSeconds} s for this credential is spent. Retry after the reset.",
                TimeSpan.FromSeconds(Math.Max(1, resetIn)));
        }
    }
}

/// <summary>Route conventions for rate limiting.</summary>
public static class RateLimitExtensions
{
    /// <summary>Limits a group that needs no credential by client address.</summary>
    public static TBuilder RateLimitedByAddress<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            await context.HttpContext.RequestServices.GetRequiredService<RateLimiter>().ChargeAnonymousAsync(context.HttpContext);
            return await next(context);
        });
        return builder;
    }
}
