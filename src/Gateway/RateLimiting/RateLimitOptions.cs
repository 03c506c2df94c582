using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.RateLimiting;

/// <summary>One plan's request budget (a part of <see cref="RateLimitOptions"/>, checked with it).</summary>
public sealed class RateLimitBudget
{
    /// <summary>Requests per window; 0 means unlimited (no counting, no rate-limit headers).</summary>
    public int Limit { get; set; }

    public int WindowSeconds { get; set; } = 60;
}

/// <summary>
/// Request budgets (configuration section <c>RateLimits</c>): per plan for credentials
/// (<c>RateLimits:Plans:&lt;plan&gt;:Limit</c> / <c>WindowSeconds</c>), and <c>RateLimits:Anonymous</c> per client
/// address for the unauthenticated auth endpoints and for requests whose credential fails.
/// </summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    public Dictionary<string, RateLimitBudget> Plans { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["free"] = new RateLimitBudget { Limit = 60, WindowSeconds = 60 },
        ["pro"] = new RateLimitBudget { Limit = 600, WindowSeconds = 60 },
        ["enterprise"] = new RateLimitBudget { Limit = 6_000, WindowSeconds = 60 },
    };

    public RateLimitBudget Anonymous { get; set; } = new() { Limit = 60, WindowSeconds = 60 };

    /// <summary>A plan's budget; an unconfigured plan gets the free plan's.</summary>
    public RateLimitBudget For(string plan) =>
        Plans.TryGetValue(plan, out var settings) ? settings : Plans.TryGetValue("free", out var free) ? free : Anonymous;
}

/// <summary>Checks <see cref="RateLimitOptions"/> at start-up.</summary>
public sealed class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitOptions o) =>
        o.Anonymous.Limit > 0 && Valid(o.Anonymous) && o.Plans.Values.All(Valid)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                "RateLimits: Anonymous.Limit and every WindowSeconds must be positive; a plan's Limit may be 0 (unlimited).");

    private static bool Valid(RateLimitBudget budget) => budget.Limit >= 0 && budget.WindowSeconds > 0;
}
