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
/// A credential's first request here after such an idle spell is charged to the grain alone (one token, nothing
/// leased): with thousands of credentials most are used less often than that, and a lease for one of their requests
/// would cost a second grain call to give the rest back.
/// <para>
/// While a credential's grain is unreachable (its silo stopped answering and membership has not declared it dead yet),
/// this silo admits that credential from a local fallback budget instead of refusing it: at most
/// <c>max(1, floor(Limit × Gateway:Failover:RateLimitFallbackShare))</c> requests per window of the policy's length, and
/// it asks the grain again at most once a second (<see cref="FallbackBudget"/>). So during such an outage the cluster
/// admits at most that many requests per gateway process per window beyond what the grain counted. Once the fallback
/// share is spent the request is refused with 503 (the budget is unknown, not spent).
/// </para>
/// </remarks>
public sealed class RateLimiter : IDisposable
{
    private readonly GrainRefs _grains;
    private readonly IOptions<RateLimitOptions> _options;
    private readonly ApiClock _clock;
    private readonly ILogger<RateLimiter> _logger;
    private readonly string _holder = Guid.NewGuid().ToString("N");
    private readonly ConcurrentDictionary<string, LocalBudget> _budgets = new(StringComparer.Ordinal);

    // The budgets holding leased tokens: what the sweep may have to give back, a few among many credentials.
    private readonly ConcurrentDictionary<string, LocalBudget> _holding = new(StringComparer.Ordinal);
    private long _forgotAt = Environment.TickCount64;
    private readonly ConcurrentDictionary<string, FallbackBudget> _fallbacks = new(StringComparer.Ordinal);
    private readonly IOptionsMonitor<Failover.FailoverOptions> _failover;

    // Addresses whose anonymous budget this silo saw refused, until their window ends (ThrowIfAddressSpent).
    private readonly ConcurrentDictionary<string, DateTimeOffset> _spent = new(StringComparer.Ordinal);
    private readonly Timer _sweeper;

    /// <summary>How long after its grain failed a credential is served from the fallback budget without asking it.</summary>
    public static readonly TimeSpan FallbackRetryInterval = TimeSpan.FromSeconds(1);

    /// <summary>Set in <see cref="HttpContext.Items"/> once the request was charged (a retried read is not charged again).</summary>
    private const string ChargedKey = "ratelimit.charged";

    public RateLimiter(GrainRefs grains, IOptions<RateLimitOptions> options, ApiClock clock, ILogger<RateLimiter> logger,
        IOptionsMonitor<Failover.FailoverOptions> failover)
    {
        _grains = grains;
        _failover = failover;
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
    public async Task<RateLimitOutcome?> PeekAsync(Caller caller)
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

    private async Task ChargeAsync(HttpContext context, string credential, string policyName, RateLimitBudget settings)
    {
        if (settings.Limit == 0)
        {
            // An unlimited plan (e.g. for internal traffic or benchmarks): nothing to count.
            return;
        }

        if (context.Items.ContainsKey(ChargedKey))
        {
            return;
        }

        var policy = new RateLimitPolicy(policyName, settings.Limit, settings.WindowSeconds);
        var key = credential + "|" + policyName;
        RateLimitOutcome decision;
        var fromFallback = true;
        if (!_fallbacks.IsEmpty && _fallbacks.TryGetValue(key, out var fallback) && fallback.AvoidsGrain(_clock.UtcNow))
        {
            decision = SpendFallback(fallback, policy);
        }
        else
        {
            try
            {
                decision = RateLimitLeasing.Applies(policy.Limit)
                    ? await SpendLeasedAsync(key, policy)
                    : await _grains.Get<IRateLimitGrain>(key).AcquireAsync(policy);
                fromFallback = false;
            }
            catch (Exception e) when (Failover.ClusterFailures.IsUnavailable(e) && _failover.CurrentValue is { Enabled: true } failover)
            {
                var budget = _fallbacks.GetOrAdd(key, _ => new FallbackBudget());
                if (budget.GrainFailed(_clock.UtcNow))
                {
                    _logger.LogWarning("The rate-limit grain of {Key} is unreachable ({Error}); admitting from this silo's fallback share ({Share:P0} of the limit per window)",
                        key, e.GetType().Name, failover.RateLimitFallbackShare);
                }

                decision = SpendFallback(budget, policy);
            }
        }

        context.Items[ChargedKey] = true;

        var headers = context.Response.Headers;
        var resetIn = Math.Max(0, (long)Math.Ceiling((decision.ResetAt - _clock.UtcNow).TotalSeconds));
        headers["X-RateLimit-Limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = decision.ResetAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        // IETF draft-ietf-httpapi-ratelimit-headers: the policy, and what is left of it.
        headers["RateLimit-Policy"] = $"\"{policyName}\";q={settings.Limit};w={settings.WindowSeconds}";
        headers["RateLimit"] = $"\"{policyName}\";r={decision.Remaining};t={resetIn}";

        if (fromFallback && !decision.Allowed)
        {
            throw ApiException.ServiceUnavailable(
                "The rate limiter of this credential is unreachable and this server's share of its budget for the outage is spent. Retry shortly.",
                FallbackRetryInterval);
        }

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

    private RateLimitOutcome SpendFallback(FallbackBudget budget, RateLimitPolicy policy)
    {
        var share = Math.Max(1, (int)Math.Floor(policy.Limit * _failover.CurrentValue.RateLimitFallbackShare));
        var (allowed, left, resetAt) = budget.Spend(_clock.UtcNow, TimeSpan.FromSeconds(policy.WindowSeconds), share);
        if (allowed)
        {
            ApiTelemetry.FailoverFallback("rate_limit_local");
        }

        // Refused here means "unknown", not "spent": ChargeAsync answers it with 503, not 429.
        return new RateLimitOutcome(allowed, policy.Limit, left, resetAt);
    }

    /// <summary>
    /// What this silo may admit of one credential without its grain. Windows of the policy's length follow each other
    /// without overlap (a new one starts only after the last one ended), so however often the grain fails and
    /// recovers, the fallback never admits more than its share per window length.
    /// </summary>
    private sealed class FallbackBudget
    {
        private readonly Lock _gate = new();
        private DateTimeOffset _windowEnd;
        private DateTimeOffset _askGrainAt;
        private int _left;

        public bool AvoidsGrain(DateTimeOffset now)
        {
            lock (_gate)
            {
                return now < _askGrainAt;
            }
        }

        /// <summary>Notes a failed grain call; true when it starts a new outage (worth one log line).</summary>
        public bool GrainFailed(DateTimeOffset now)
        {
            lock (_gate)
            {
                var fresh = now >= _askGrainAt + FallbackRetryInterval;
                _askGrainAt = now + FallbackRetryInterval;
                return fresh;
            }
        }

        public (bool Allowed, int Left, DateTimeOffset ResetAt) Spend(DateTimeOffset now, TimeSpan window, int share)
        {
            lock (_gate)
            {
                if (now >= _windowEnd)
                {
                    _windowEnd = now + window;
                    _left = share;
                }

                if (_left == 0)
                {
                    return (false, 0, _windowEnd);
                }

                _left--;
                return (true, _left, _windowEnd);
            }
        }

        public bool Expired(DateTimeOffset now)
        {
            lock (_gate)
            {
                return now >= _windowEnd && now >= _askGrainAt;
            }
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

        /// <summary>When a request of the credential last came here (<see cref="Environment.TickCount64"/>); never, at first.</summary>
        public long LastUsed = long.MinValue / 2;
    }

    private async Task<RateLimitOutcome> SpendLeasedAsync(string key, RateLimitPolicy policy)
    {
        var budget = _budgets.GetOrAdd(key, _ => new LocalBudget());
        var refused = false;
        while (true)
        {
            Task<RateLimitLease>? refill;
            TaskCompletionSource<RateLimitLease>? mine = null;
            lock (budget.Gate)
            {
                var now = Environment.TickCount64;
                var idle = now - budget.LastUsed;
                budget.LastUsed = now;
                if (budget.Left > 0 && budget.Policy == policy && _clock.UtcNow < budget.ResetAt)
                {
                    budget.Left--;
                    return new RateLimitOutcome(true, policy.Limit, budget.GrainRemaining + budget.Left, budget.ResetAt);
                }

                if (budget.Refill is null && (refused || idle < RateLimitLeasing.IdleReturn.TotalMilliseconds))
                {
                    mine = new TaskCompletionSource<RateLimitLease>(TaskCreationOptions.RunContinuationsAsynchronously);
                    budget.Refill = mine.Task;
                }

                refill = budget.Refill;
            }

            if (refill is null)
            {
                // The first request after an idle spell: one token, nothing left here to give back.
                var outcome = await _grains.Get<IRateLimitGrain>(key).AcquireAsync(policy);
                if (!outcome.Allowed)
                {
                    // The grain has none left, but a request that came meanwhile may have leased the last ones here:
                    // ask as the others do (their tokens, their lease in flight, or the grain's refusal), never by
                    // another acquire, however long this one took.
                    refused = true;
                    continue;
                }

                lock (budget.Gate)
                {
                    // Tokens such a request leased are still to be spent here.
                    return budget.Policy == policy && budget.ResetAt == outcome.ResetAt
                        ? outcome with { Remaining = outcome.Remaining + budget.Left }
                        : outcome;
                }
            }

            if (mine is not null)
            {
                await RefillAsync(key, budget, policy, mine);
            }

            var lease = await refill;
            if (!lease.Allowed)
            {
                return new RateLimitOutcome(false, lease.Limit, 0, lease.ResetAt);
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
                    _holding[key] = budget;
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

    /// <summary>How often the sweep forgets budgets unused for <see cref="ForgetAfterMs"/>; it hands tokens back at every run.</summary>
    private const long ForgetEveryMs = 10_000;

    private const long ForgetAfterMs = 60_000;

    /// <summary>Hands back tokens of credentials idle here, and forgets budgets long unused whose tokens are gone.</summary>
    private void Sweep()
    {
        foreach (var (key, fallback) in _fallbacks)
        {
            if (fallback.Expired(_clock.UtcNow))
            {
                _fallbacks.TryRemove(new KeyValuePair<string, FallbackBudget>(key, fallback));
            }
        }

        var now = Environment.TickCount64;
        foreach (var (key, budget) in _holding)
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

                _holding.TryRemove(new KeyValuePair<string, LocalBudget>(key, budget));
                if (budget.Left == 0 || _clock.UtcNow >= budget.ResetAt)
                {
                    continue;
                }

                (policy, resetAt, unused) = (budget.Policy, budget.ResetAt, budget.Left);
                budget.Left = 0;
            }

            _ = ReleaseAsync(key, policy!, resetAt, unused);
        }

        if (now - _forgotAt < ForgetEveryMs)
        {
            return;
        }

        _forgotAt = now;
        foreach (var (key, budget) in _budgets)
        {
            lock (budget.Gate)
            {
                // Whatever such a budget held, the pass above took it out of _holding long since.
                if (budget.Refill is null && now - budget.LastUsed > ForgetAfterMs && (budget.Left == 0 || _clock.UtcNow >= budget.ResetAt))
                {
                    _budgets.TryRemove(new KeyValuePair<string, LocalBudget>(key, budget));
                }
            }
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
