using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Gateway.Identity;
using ApiPlatform.Gateway.RateLimiting;
using ApiPlatform.Grains.ApiKeys;
using ApiPlatform.Grains.Organizations;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Grains.Webhooks;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Usage;

/// <summary>How much of one cap is used.</summary>
public sealed record UsageFigure(long Used, long Limit);

/// <summary>The caller's current rate-limit window (<c>reset</c> in Unix seconds, as <c>X-RateLimit-Reset</c>).</summary>
public sealed record RateLimitUsage(int Limit, int Remaining, long Reset, int WindowSeconds);

/// <summary>What of its plan an owner uses. <c>organizations</c> is for users only (organizations they own).</summary>
public sealed record UsageReport(
    string OwnerId, string Plan, RateLimitUsage? RateLimit, UsageFigure Resources, UsageFigure ApiKeys, UsageFigure Webhooks,
    UsageFigure? Organizations);

/// <summary>
/// <c>GET /v1/usage</c>: each figure is read from the very counter that enforces its cap (resource counters, the key
/// registry's active keys, the webhook rows, owned memberships), and the rate limit from the credential's rate-limit
/// grain without spending anything, so the figures are exact, not estimates.
/// </summary>
public sealed class UsageService(GrainRefs grains, RateLimiter limiter, IOptions<PlanOptions> plans, IOptions<RateLimitOptions> rates)
{
    public async Task<UsageReport> ReportAsync(Caller caller)
    {
        var limits = plans.Value.LimitsOf(caller.CapPlan);
        var owner = caller.OwnerId;
        var resources = grains.Get<IResourceQueryWorker>(0).CountAsync(owner);
        var keys = grains.Get<IApiKeyRegistryGrain>(owner).CountActiveAsync();
        var webhooks = grains.Get<IWebhookQueryWorker>(0).ListAsync(owner, 0, 1);
        var organizations = caller.ActsForOrganization ? null : grains.Get<IOrganizationDirectoryWorker>(0).CountOwnedOrganizationsAsync(owner);
        var window = limiter.PeekAsync(caller);
        await Task.WhenAll(resources, keys, webhooks, window, organizations ?? Task.FromResult(0L));

        var peek = await window;
        var rate = peek is null
            ? null
            : new RateLimitUsage(peek.Limit, peek.Remaining, peek.ResetAt.ToUnixTimeSeconds(), rates.Value.For(caller.Plan).WindowSeconds);
        return new UsageReport(owner, caller.CapPlan, rate,
            new UsageFigure(await resources, limits.MaxResources),
            new UsageFigure(await keys, limits.MaxApiKeys),
            new UsageFigure((await webhooks).Total, limits.MaxWebhooks),
            organizations is null ? null : new UsageFigure(await organizations, limits.MaxOrganizations));
    }
}
