namespace ApiPlatform.Grains.RateLimiting;

/// <summary>A limit: so many requests per window.</summary>
[GenerateSerializer, Immutable, Alias("rate-limit-policy.v1")]
public sealed record RateLimitPolicy(
    [property: Id(0)] string Name,
    [property: Id(1)] int Limit,
    [property: Id(2)] int WindowSeconds);

/// <summary>The verdict on one request, with what the rate-limit headers report.</summary>
[GenerateSerializer, Immutable, Alias("rate-limit-decision.v1")]
public sealed record RateLimitDecision(
    [property: Id(0)] bool Allowed,
    [property: Id(1)] int Limit,
    [property: Id(2)] int Remaining,
    [property: Id(3)] DateTimeOffset ResetAt);

/// <summary>
/// The single authority for one credential's requests under one policy (key: <c>{credential}|{policy}</c>). Every
/// gateway asks the same activation, so the limit is exact for the whole cluster. Counts live in memory.
/// </summary>
[Alias("IRateLimitGrain")]
public interface IRateLimitGrain : IGrainWithStringKey
{
    /// <summary>Counts one request if the window has room.</summary>
    [Alias("AcquireAsync")]
    Task<RateLimitDecision> AcquireAsync(RateLimitPolicy policy);
}
