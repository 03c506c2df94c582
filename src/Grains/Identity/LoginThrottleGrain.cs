using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Identity;

/// <inheritdoc cref="ILoginThrottleGrain"/>
// Kept alive longer than any lockout so that idle collection cannot forgive a locked account early.
[CollectionAgeLimit(Minutes = 60)]
public sealed class LoginThrottleGrain(IOptions<LoginThrottleOptions> options, ApiClock clock) : Grain, ILoginThrottleGrain
{
    private readonly Queue<DateTimeOffset> _failures = new();
    private DateTimeOffset _lockedUntil;

    public Task<TimeSpan?> GetLockoutAsync() => Task.FromResult(Remaining());

    public Task<TimeSpan?> RecordFailureAsync()
    {
        var now = clock.UtcNow;
        var o = options.Value;
        while (_failures.Count > 0 && now - _failures.Peek() > o.Window)
        {
            _failures.Dequeue();
        }

        _failures.Enqueue(now);
        if (_failures.Count >= o.MaxFailures)
        {
            _lockedUntil = now + o.LockoutDuration;
            _failures.Clear();
        }

        return Task.FromResult(Remaining());
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
