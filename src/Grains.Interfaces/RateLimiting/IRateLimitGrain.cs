namespace ApiPlatform.Grains.RateLimiting;

/// <summary>A limit: so many requests per window.</summary>
[GenerateSerializer, Immutable, Alias("rate-limit-policy.v1")]
public sealed record RateLimitPolicy(
    [property: Id(0)] string Name,
    [property: Id(1)] int Limit,
    [property: Id(2)] int WindowSeconds);

/// <summary>The verdict on one request, with what the rate-limit headers report.</summary>
[GenerateSerializer, Immutable, Alias("rate-limit-decision.v1")]
public sealed record RateLimitOutcome(
    [property: Id(0)] bool Allowed,
    [property: Id(1)] int Limit,
    [property: Id(2)] int Remaining,
    [property: Id(3)] DateTimeOffset ResetAt);

/// <summary>
/// A grant of tokens to one gateway silo, spent there without further calls (see <see cref="RateLimitLeasing"/>). The
/// first token is for the request that asked; <see cref="Remaining"/> is what the grain has left after the grant.
/// </summary>
[GenerateSerializer, Immutable, Alias("rate-limit-lease.v1")]
public sealed record RateLimitLease(
    [property: Id(0)] bool Allowed,
    [property: Id(1)] int Granted,
    [property: Id(2)] int Limit,
    [property: Id(3)] int Remaining,
    [property: Id(4)] DateTimeOffset ResetAt);

/// <summary>
/// When and how many tokens a gateway may hold at once. Leasing saves a grain call per request for busy credentials of
/// large budgets while the grain stays the only place tokens come from: it never grants more than the limit in a
/// window. A lease is at most 1 % of the limit and 1/8 of what is left per silo holding one, so the last tokens of a
/// window go out one at a time and a silo can strand only a sliver; a silo hands back tokens it did not use once the
/// credential has been idle there for <see cref="IdleReturn"/>. Budgets under <see cref="MinLimit"/> are never leased:
/// each request asks the grain.
/// </summary>
public static class RateLimitLeasing
{
    public const int MinLimit = 200;
    public const int MaxLease = 256;
    public static readonly TimeSpan IdleReturn = TimeSpan.FromMilliseconds(500);

    public static bool Applies(int limit) => limit >= MinLimit;

    /// <summary>Tokens to grant (at least one), given what is left and how many silos hold leases this window.</summary>
    public static int Size(int limit, int remaining, int holders) =>
        Math.Clamp(Math.Min(Math.Min(MaxLease, limit / 100), remaining / (8 * Math.Max(1, holders))), 1, Math.Max(1, remaining));
}

/// <summary>
/// The single authority for one credential's requests under one policy (key: <c>{credential}|{policy}</c>). Every
/// gateway asks the same activation, so the limit is exact for the whole cluster. Counts live in memory.
/// </summary>
[Alias("IRateLimitGrain")]
public interface IRateLimitGrain : IGrainWithStringKey
{
    /// <summary>Counts one request if the window has room.</summary>
    [Alias("AcquireAsync")]
    Task<RateLimitOutcome> AcquireAsync(RateLimitPolicy policy);

    /// <summary>
    /// Grants <paramref name="holder"/> (a gateway silo) a lease of tokens sized by <see cref="RateLimitLeasing.Size"/>,
    /// the first for the request at hand; refuses when the window is spent.
    /// </summary>
    [Alias("LeaseAsync")]
    Task<RateLimitLease> LeaseAsync(RateLimitPolicy policy, string holder);

    /// <summary>What is left of the current window under <paramref name="policy"/>, counting nothing.</summary>
    [Alias("PeekAsync")]
    Task<RateLimitOutcome> PeekAsync(RateLimitPolicy policy);

    /// <summary>Takes back <paramref name="unused"/> leased tokens of the window ending at <paramref name="resetAt"/>.</summary>
    [Alias("ReleaseAsync")]
    Task ReleaseAsync(RateLimitPolicy policy, DateTimeOffset resetAt, int unused);
}
