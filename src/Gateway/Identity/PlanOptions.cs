using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Identity;

/// <summary>What one plan allows (configuration <c>Plans:&lt;plan&gt;:…</c>).</summary>
public sealed class PlanLimits
{
    public int MaxApiKeys { get; set; } = 10;
    public int MaxResources { get; set; } = 1_000;
    public int MaxWebhooks { get; set; } = 5;

    /// <summary>Open event streams (<c>GET /v1/events/stream</c>) per credential at once.</summary>
    public int MaxEventStreams { get; set; } = 5;
    public int MaxResourceTypes { get; set; } = 10;
    /// <summary>Organizations a user may own (as an owner, whoever created them).</summary>
    public int MaxOrganizations { get; set; } = 3;
}

/// <summary>The plans and their caps (configuration section <c>Plans</c>); new users get <see cref="DefaultPlan"/>.</summary>
public sealed class PlanOptions
{
    public const string Section = "Plans";
    public const string Free = "free";
    public const string Pro = "pro";
    public const string Enterprise = "enterprise";

    public string DefaultPlan { get; set; } = Free;

    public Dictionary<string, PlanLimits> Catalog { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        [Free] = new PlanLimits { MaxApiKeys = 10, MaxResources = 1_000, MaxWebhooks = 5, MaxEventStreams = 5, MaxResourceTypes = 10, MaxOrganizations = 3 },
        [Pro] = new PlanLimits { MaxApiKeys = 50, MaxResources = 100_000, MaxWebhooks = 20, MaxEventStreams = 25, MaxResourceTypes = 100, MaxOrganizations = 20 },
        [Enterprise] = new PlanLimits { MaxApiKeys = 500, MaxResources = 10_000_000, MaxWebhooks = 100, MaxEventStreams = 100, MaxResourceTypes = 1_000, MaxOrganizations = 100 },
    };

    public bool Exists(string plan) => Catalog.ContainsKey(plan);

    public PlanLimits LimitsOf(string plan) => Catalog.TryGetValue(plan, out var limits) ? limits : Catalog[Free];
}

/// <summary>Checks <see cref="PlanOptions"/> at start-up.</summary>
public sealed class PlanOptionsValidator : IValidateOptions<PlanOptions>
{
    public ValidateOptionsResult Validate(string? name, PlanOptions o) =>
        o.Exists(o.DefaultPlan) ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail("Plans:DefaultPlan must name a plan of Plans:Catalog.");
}
