namespace ApiPlatform.Grains.RateLimiting;

/// <inheritdoc cref="IRateLimitGrain"/>
/// <remarks>
/// Fixed windows aligned to the Unix epoch: exactly <c>Limit</c> requests are admitted per window, which is what the
/// contract's "N requests per minute" and the <c>X-RateLimit-Reset</c> header describe, and the state is two
/// numbers. The price is that a client can spend two windows' worth across a boundary; GCRA would smooth that but
/// makes "remaining" and "reset" approximations. A silo crash forgets the current window's count (the limit errs
/// towards admitting, never towards refusing legitimate traffic).
/// <para>
/// Busy credentials of large budgets are served by leases (<see cref="RateLimitLeasing"/>): a gateway silo takes a
/// handful of tokens in one call and spends them locally. Every token still comes from this grain, so a window never
/// admits more than the limit.
/// </para>
/// </remarks>
public sealed class RateLimitGrain(ApiClock clock) : Grain, IRateLimitGrain
{
    private long _windowStart = long.MinValue;
    private int _count;
    private (int Limit, int WindowSeconds) _policy;
    private readonly HashSet<string> _holders = [];

    public Task<RateLimitOutcome> AcquireAsync(RateLimitPolicy policy)
    {
        var reset = Window(policy);
        var allowed = _count < policy.Limit;
        if (allowed)
        {
            _count++;
        }

        return Task.FromResult(new RateLimitOutcome(allowed, policy.Limit, Math.Max(0, policy.Limit - _count), reset));
    }

    public Task<RateLimitLease> LeaseAsync(RateLimitPolicy policy, string holder)
    {
        var reset = Window(policy);
        var remaining = policy.Limit - _count;
        if (remaining <= 0)
        {
            return Task.FromResult(new RateLimitLease(false, 0, policy.Limit, 0, reset));
        }

        _holders.Add(holder);
        var granted = RateLimitLeasing.Size(policy.Limit, remaining, _holders.Count);
        _count += granted;
        return Task.FromResult(new RateLimitLease(true, granted, policy.Limit, policy.Limit - _count, reset));
    }

    public Task<RateLimitOutcome> PeekAsync(RateLimitPolicy policy)
    {
        var reset = Window(policy);
        var remaining = Math.Max(0, policy.Limit - _count);
        return Task.FromResult(new RateLimitOutcome(remaining > 0, policy.Limit, remaining, reset));
    }

    public Task ReleaseAsync(RateLimitPolicy policy, DateTimeOffset resetAt, int unused)
    {
        // Only tokens of the window still running come back; older ones expired with their window.
        if (unused > 0 && _policy == (policy.Limit, Math.Max(1, policy.WindowSeconds)) && resetAt.ToUnixTimeSeconds() == _windowStart + _policy.WindowSeconds)
        {
            _count = Math.Max(0, _count - unused);
        }

        return Task.CompletedTask;
    }

    /// <summary>Moves to the current window (a new one, or a changed policy, counts afresh); answers when it ends.</summary>
    private DateTimeOffset Window(RateLimitPolicy policy)
    {
        var now = clock.UtcNow.ToUnixTimeSeconds();
        var window = Math.Max(1, policy.WindowSeconds);
        var start = now - (now % window);
        if (start != _windowStart || _policy != (policy.Limit, window))
        {
            _windowStart = start;
            _count = 0;
            _policy = (policy.Limit, window);
            _holders.Clear();
        }

        return DateTimeOffset.FromUnixTimeSeconds(start + window);
    }
}
