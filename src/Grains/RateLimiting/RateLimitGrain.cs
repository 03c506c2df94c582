namespace ApiPlatform.Grains.RateLimiting;

/// <inheritdoc cref="IRateLimitGrain"/>
/// <remarks>
/// Fixed windows aligned to the Unix epoch: exactly <c>Limit</c> requests are admitted per window, which is what the
/// contract's "N requests per minute" and the <c>X-RateLimit-Reset</c> header describe, and the state is two
/// numbers. The price is that a client can spend two windows' worth across a boundary; GCRA would smooth that but
/// makes "remaining" and "reset" approximations. A silo crash forgets the current window's count (the limit errs
/// towards admitting, never towards refusing legitimate traffic).
/// </remarks>
public sealed class RateLimitGrain(ApiClock clock) : Grain, IRateLimitGrain
{
    private long _windowStart = long.MinValue;
    private int _count;
    private (int Limit, int WindowSeconds) _policy;

    public Task<RateLimitDecision> AcquireAsync(RateLimitPolicy policy)
    {
        var now = clock.UtcNow.ToUnixTimeSeconds();
        var window = Math.Max(1, policy.WindowSeconds);
        var start = now - (now % window);
        if (start != _windowStart || _policy != (policy.Limit, window))
        {
            // A new window, or a configuration change: start counting afresh.
            _windowStart = start;
            _count = 0;
            _policy = (policy.Limit, window);
        }

        var allowed = _count < policy.Limit;
        if (allowed)
        {
            _count++;
        }

        var reset = DateTimeOffset.FromUnixTimeSeconds(start + window);
        return Task.FromResult(new RateLimitDecision(allowed, policy.Limit, Math.Max(0, policy.Limit - _count), reset));
    }
}
