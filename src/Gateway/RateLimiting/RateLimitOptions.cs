using System.ComponentModel.DataAnnotations;

namespace ApiPlatform.Gateway.RateLimiting;

/// <summary>One plan's request budget.</summary>
public sealed class RateLimitSettings
{
    /// <summary>Requests per window; 0 means unlimited (no counting, no rate-limit headers).</summary>
    [Range(0, int.MaxValue)]
    public int Limit { get; set; }

    [Range(1, 86_400)]
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

    public Dictionary<string, RateLimitSettings> Plans { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["free"] = new RateLimitSettings { Limit = 60, WindowSeconds = 60 },
        ["pro"] = new RateLimitSettings { Limit = 600, WindowSeconds = 60 },
        ["enterprise"] = new RateLimitSettings { Limit = 6_000, WindowSeconds = 60 },
    };

    public RateLimitSettings Anonymous { get; set; } = new() { Limit = 60, WindowSeconds = 60 };

    /// <summary>A plan's budget; an unconfigured plan gets the free plan's.</summary>
    public RateLimitSettings For(string plan) =>
        Plans.TryGetValue(plan, out var settings) ? settings : Plans.TryGetValue("free", out var free) ? free : Anonymous;
}
