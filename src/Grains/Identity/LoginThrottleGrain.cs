using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Identity;

/// <inheritdoc cref="ILoginThrottleGrain"/>
// Kept alive longer than any lockout so that idle collection cannot forgive a locked account early.
[CollectionAgeLimit(Minutes = 60)]
public sealed class LoginThrottleGrain(IOptions<LoginThrottleOptions> options, ApiClock clock, ILogger<LoginThrottleGrain> logger) : Grain, ILoginThrottleGrain
{
    private readonly Queue<DateTimeOffset> _failures = new();
    private DateTimeOffset _lockedUntil;

    public Task<TimeSpan?> GetLockoutAsync() => Task.FromResult(Remaining());

    public Task<TimeSpan?> BeginAttemptAsync()
    {
        if (Remaining() is { } wait)
        {
            return Task.FromResult<TimeSpan?>(wait);
        }

        var now = clock.UtcNow;
        var o = options.Value;
        while (_failures.Count > 0 && now - _failures.Peek() > o.Window)
        {
            _failures.Dequeue();
        }

        // Counted before the password is checked (one grain turn, so atomic with the decision above); a success
        // takes it back through ResetAsync. The attempt that reaches the limit still runs; the ones after it do not.
        _failures.Enqueue(now);
        if (_failures.Count >= o.MaxFailures)
        {
            _lockedUntil = now + o.LockoutDuration;
            _failures.Clear();
            logger.LogWarning("Login locked for {Duration} after repeated attempts", o.LockoutDuration);
        }

        return Task.FromResult<TimeSpan?>(null);
    }

    public Task ResetAsync()
    {
        _failures.Clear();
        _lockedUntil = default;
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    private TimeSpan? Remaining()
    {
        var left = _lockedUntil - clock.UtcNow;
        return left > TimeSpan.Zero ? left : null;
    }
}
