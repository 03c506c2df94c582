using System.Collections.Concurrent;
using System.Globalization;
using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Grains;
using ApiPlatform.Grains.RateLimiting;
using ApiPlatform.Grains.Telemetry;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.RateLimiting;

/// <summary>
/// Charges each request to its credential's <see cref="IRateLimitGrain"/> (API key, user for an access token, client
/// address otherwise), writes the rate-limit headers on every response, and refuses with 429 once the window is
/// spent. A refused request goes no further, so it costs no other grain call.
/// </summary>
/// <remarks>
/// Budgets of <see cref="RateLimitLeasing.MinLimit"/> or more are spent from leases: this silo takes a few tokens from
/// the grain in one call (one call in flight per credential; concurrent requests wait for it) and admits requests
/// locally until they are gone, so a busy credential costs a grain call per lease, not per request. Tokens a silo did
/// not spend go back to the grain once the credential has been idle here for <see cref="RateLimitLeasing.IdleReturn"/>.
/// </remarks>
public sealed class RateLimiter : IDisposable
{
    private readonly GrainRefs _grains;
    private readonly IOptions<RateLimitOptions> _options;
    private readonly ApiClock _clock;
    private readonly ILogger<RateLimiter> _logger;
    private readonly string _holder = Guid.NewGuid().ToString("N");
    private readonly ConcurrentDictionary<string, LocalBudget> _budgets = new(StringComparer.Ordinal);

    // Addresses whose anonymous budget this silo saw refused, until their window ends (ThrowIfAddressSpent).
    private readonly ConcurrentDictionary<string, DateTimeOffset> _spent = new(StringComparer.Ordinal);
    private readonly Timer _sweeper;

    public RateLimiter(GrainRefs grains, IOptions<RateLimitOptions> options, ApiClock clock, ILogger<RateLimiter> logger)
    {
        _grains = grains;
        _options = options;
        _clock = clock;
        _logger = logger;
        var period = RateLimitLeasing.IdleReturn / 2;
        _sweeper = new Timer(_ => Sweep(), null, period, period);
    }

    public Task ChargeAsync(HttpContext context, Caller caller) =>
        ChargeAsync(context, CredentialOf(caller), caller.Plan, _options.Value.For(caller.Plan));

    /// <summary>
    /// What is left of the caller's current window, counting nothing: the grain's count plus the tokens this silo
    /// holds unspent. Null for an unlimited plan.
    /// </summary>
    public async Task<RateLimitDecision?> PeekAsync(Caller caller)
    {
        var settings = _options.Value.For(caller.Plan);
        if (settings.Limit == 0)
        {
            return null;
        }

        var policy = new RateLimitPolicy(caller.Plan, settings.Limit, settings.WindowSeconds);
        var key = CredentialOf(caller) + "|" + caller.Plan;
        var peek = await _grains.Get<IRateLimitGrain>(key).PeekAsync(policy);
        if (_budgets.TryGetValue(key, out var budget))
        {
            lock (budget.Gate)
            {
                if (budget.Policy == policy && budget.ResetAt == peek.ResetAt && _clock.UtcNow < budget.ResetAt)
                {
                    peek = peek with { Remaining = peek.Remaining + budget.Left };
                }
            }
        }

        return peek;
    }

    /// <summary>
    /// Whose budget a request spends: the API key's, or the user's. A user acting for an organization spends a budget
    /// of the organization's plan, apart from their own.
    /// </summary>
    private static string CredentialOf(Caller caller) =>
        caller.ApiKeyId is { } keyId ? "key:" + keyId
        : caller.ActsForOrganization ? "user:" + caller.UserId + "@" + caller.OwnerId
        : "user:" + caller.UserId;

    /// <summary>
    /// Charges the client address: the socket peer, or the client a trusted proxy reported (<c>ForwardedHeaders</c>
    /// runs first and rewrites <see cref="ConnectionInfo.RemoteIpAddress"/> only for trusted peers).
    /// </summary>
    public Task ChargeAnonymousAsync(HttpContext context) =>
        ChargeAsync(context, "ip:" + AddressKey(context.Connection.RemoteIpAddress), "anonymous", _options.Value.Anonymous);

    /// <summary>
    /// 429 at once, without a grain call, when this silo saw the client address's anonymous budget refused and its
    /// window has not ended: work that only failed credentials would pay for is not done for it.
    /// </summary>
    public void ThrowIfAddressSpent(HttpContext context)
    {
        var key = "ip:" + AddressKey(context.Connection.RemoteIpAddress);
        if (_spent.TryGetValue(key, out var until))
        {
            var wait = until - _clock.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                throw ApiException.TooManyRequests("This address has spent its budget for failed credentials. Retry after the reset.", wait);
            }

            _spent.TryRemove(new KeyValuePair<string, DateTimeOffset>(key, until));
        }
    }

    /// <summary>
    /// The budget an address spends: an IPv4 address, or an IPv6 address's /64, because one IPv6 host is usually given a
    /// whole /64 and could otherwise take a fresh budget per address.
    /// </summary>
    public static string AddressKey(System.Net.IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new System.Net.IPAddress(bytes) + "/64";
    }

    private async Task ChargeAsync(HttpContext context, string credential, string policyName, RateLimitSettings settings)
    {
        if (settings.Limit == 0)
        {
            // An unlimited plan (e.g. for internal traffic or benchmarks): nothing to count.
            return;
        }

        var policy = new RateLimitPolicy(policyName, settings.Limit, settings.WindowSeconds);
        var key = credential + "|" + policyName;
        var decision = RateLimitLeasing.Applies(policy.Limit)
            ? await SpendLeasedAsync(key, policy)
            : await _grains.Get<IRateLimitGrain>(key).AcquireAsync(policy);

        var headers = context.Response.Headers;
        var resetIn = Math.Max(0, (long)Math.Ceiling((decision.ResetAt - _clock.UtcNow).TotalSeconds));
        headers["X-RateLimit-Limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = decision.ResetAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        // IETF draft-ietf-httpapi-ratelimit-headers: the policy, and what is left of it.
        headers["RateLimit-Policy"] = $"\"{policyName}\";q={settings.Limit};w={settings.WindowSeconds}";
        headers["RateLimit"] = $"\"{policyName}\";r={decision.Remaining};t={resetIn}";

        if (!decision.Allowed)
        {
            ApiTelemetry.RateLimitRefused(policyName);
            if (credential.StartsWith("ip:", StringComparison.Ordinal))
            {
                if (_spent.Count >= ApiKeyCache.MaxEntries)
                {
                    _spent.Clear();
                }

                _spent[credential] = decision.ResetAt;
            }

            throw ApiException.TooManyRequests(
                $"The rate limit of {settings.Limit} requests per {settings.WindowSeconds} s for this credential is spent. Retry after the reset.",
                TimeSpan.FromSeconds(Math.Max(1, resetIn)));
        }
    }

    /// <summary>Tokens of one credential held by this silo, and the grain call that is fetching more.</summary>
    private sealed class LocalBudget
    {
        public readonly Lock Gate = new();
        public RateLimitPolicy? Policy;
        public DateTimeOffset ResetAt;
        public int Left;
        public int GrainRemaining;
        public Task<RateLimitLease>? Refill;
        public long LastUsed = Environment.TickCount64;
    }

    private async Task<RateLimitDecision> SpendLeasedAsync(string key, RateLimitPolicy policy)
    {
        var budget = _budgets.GetOrAdd(key, _ => new LocalBudget());
        while (true)
        {
            Task<RateLimitLease> refill;
            TaskCompletionSource<RateLimitLease>? mine = null;
            lock (budget.Gate)
            {
                budget.LastUsed = Environment.TickCount64;
                if (budget.Left > 0 && budget.Policy == policy && _clock.UtcNow < budget.ResetAt)
                {
                    budget.Left--;
                    return new RateLimitDecision(true, policy.Limit, budget.GrainRemaining + budget.Left, budget.ResetAt);
                }

                if (budget.Refill is null)
                {
                    mine = new TaskCompletionSource<RateLimitLease>(TaskCreationOptions.RunContinuationsAsynchronously);
                    budget.Refill = mine.Task;
                }

                refill = budget.Refill;
            }

            if (mine is not null)
            {
                await RefillAsync(key, budget, policy, mine);
            }

            var lease = await refill;
            if (!lease.Allowed)
            {
                return new RateLimitDecision(false, lease.Limit, 0, lease.ResetAt);
            }

            // Tokens arrived: take one (or, if the other waiters took them all, ask again).
        }
    }

    private async Task RefillAsync(string key, LocalBudget budget, RateLimitPolicy policy, TaskCompletionSource<RateLimitLease> done)
    {
        try
        {
            var lease = await _grains.Get<IRateLimitGrain>(key).LeaseAsync(policy, _holder);
            lock (budget.Gate)
            {
                if (lease.Allowed)
                {
                    // Tokens of another window or policy are void; the grain's count already moved on.
                    if (budget.Policy != policy || budget.ResetAt != lease.ResetAt)
                    {
                        budget.Left = 0;
                    }

                    budget.Policy = policy;
                    budget.ResetAt = lease.ResetAt;
                    budget.Left += lease.Granted;
                    budget.GrainRemaining = lease.Remaining;
                }

                budget.Refill = null;
            }

            done.SetResult(lease);
        }
        catch (Exception e)
        {
            lock (budget.Gate)
            {
                budget.Refill = null;
            }

            done.SetException(e);
        }
    }

    /// <summary>Hands back tokens of credentials idle here, and forgets budgets whose window is over.</summary>
    private void Sweep()
    {
        var now = Environment.TickCount64;
        foreach (var (key, budget) in _budgets)
        {
            RateLimitPolicy? policy;
            DateTimeOffset resetAt;
            int unused;
            lock (budget.Gate)
            {
                if (budget.Refill is not null || now - budget.LastUsed < RateLimitLeasing.IdleReturn.TotalMilliseconds)
                {
                    continue;
                }

                if (budget.Left == 0 || _clock.UtcNow >= budget.ResetAt)
                {
                    if (now - budget.LastUsed > 60_000)
                    {
                        _budgets.TryRemove(new KeyValuePair<string, LocalBudget>(key, budget));
                    }

                    continue;
                }

                (policy, resetAt, unused) = (budget.Policy, budget.ResetAt, budget.Left);
                budget.Left = 0;
            }

            _ = ReleaseAsync(key, policy!, resetAt, unused);
        }
    }

    private async Task ReleaseAsync(string key, RateLimitPolicy policy, DateTimeOffset resetAt, int unused)
    {
        try
        {
            await _grains.Get<IRateLimitGrain>(key).ReleaseAsync(policy, resetAt, unused);
        }
        catch (Exception e)
        {
            // The tokens stay spent until the window ends: the limit errs towards refusing a few, never admitting more.
            _logger.LogDebug(e, "Returning {Unused} rate-limit tokens of {Key} failed", unused, key);
        }
    }

    public void Dispose() => _sweeper.Dispose();
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
