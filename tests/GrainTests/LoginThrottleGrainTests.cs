using ApiPlatform.Grains.Identity;

namespace ApiPlatform.GrainTests;

public sealed class LoginThrottleGrainTests(ClusterFixture fixture)
{
    private static readonly LoginThrottleOptions Options = ClusterFixture.Throttle;

    private ILoginThrottleGrain NewThrottle() =>
        fixture.Grains.GetGrain<ILoginThrottleGrain>(UniqueKeys.Email($"{Guid.NewGuid():N}@example.test"));

    private static async Task FailAsync(ILoginThrottleGrain throttle, int times)
    {
        for (var i = 0; i < times; i++)
        {
            Assert.Null(await throttle.BeginAttemptAsync());
        }
    }

    [Fact]
    public async Task No_lockout_before_max_failures()
    {
        var throttle = NewThrottle();
        Assert.Null(await throttle.GetLockoutAsync());

        await FailAsync(throttle, Options.MaxFailures - 1);

        Assert.Null(await throttle.GetLockoutAsync());
    }

    [Fact]
    public async Task Max_failures_lock_the_account_for_the_lockout_duration()
    {
        var throttle = NewThrottle();
        await FailAsync(throttle, Options.MaxFailures - 1);

        // The attempt that reaches the limit still runs; it locks every later one.
        Assert.Null(await throttle.BeginAttemptAsync());
        var lockout = await throttle.GetLockoutAsync();

        Assert.NotNull(lockout);
        Assert.True(lockout > TimeSpan.Zero);
        Assert.True(lockout <= Options.LockoutDuration);
        Assert.Equal(lockout, await throttle.BeginAttemptAsync());
    }

    [Fact]
    public async Task Reported_lockout_counts_down()
    {
        var throttle = NewThrottle();
        await FailAsync(throttle, Options.MaxFailures - 1);
        await FailAsync(throttle, 1);
        var lockout = (await throttle.GetLockoutAsync())!.Value;

        fixture.Time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(lockout - TimeSpan.FromMinutes(1), await throttle.GetLockoutAsync());
    }

    [Fact]
    public async Task Lockout_ends_after_the_lockout_duration()
    {
        var throttle = NewThrottle();
        await FailAsync(throttle, Options.MaxFailures);
        Assert.NotNull(await throttle.GetLockoutAsync());

        fixture.Time.Advance(Options.LockoutDuration - TimeSpan.FromSeconds(1));
        Assert.NotNull(await throttle.GetLockoutAsync());

        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await throttle.GetLockoutAsync());
        // The count started over with the lockout: one more failure does not lock again.
        Assert.Null(await throttle.BeginAttemptAsync());
        Assert.Null(await throttle.GetLockoutAsync());
    }

    [Fact]
    public async Task Failures_older_than_the_window_are_forgotten()
    {
        var throttle = NewThrottle();
        await FailAsync(throttle, Options.MaxFailures - 1);

        fixture.Time.Advance(Options.Window + TimeSpan.FromSeconds(1));

        Assert.Null(await throttle.BeginAttemptAsync());
        Assert.Null(await throttle.GetLockoutAsync());
    }

    [Fact]
    public async Task Failures_within_the_window_add_up()
    {
        var throttle = NewThrottle();
        await FailAsync(throttle, Options.MaxFailures - 1);

        fixture.Time.Advance(Options.Window - TimeSpan.FromSeconds(1));

        Assert.Null(await throttle.BeginAttemptAsync());
        Assert.NotNull(await throttle.GetLockoutAsync());
    }

    [Fact]
    public async Task Reset_forgets_failures()
    {
        var throttle = NewThrottle();
        await FailAsync(throttle, Options.MaxFailures - 1);

        await throttle.ResetAsync();

        await FailAsync(throttle, Options.MaxFailures - 1);
        Assert.Null(await throttle.GetLockoutAsync());
    }

    [Fact]
    public async Task Reset_clears_a_lockout()
    {
        var throttle = NewThrottle();
        await FailAsync(throttle, Options.MaxFailures);
        Assert.NotNull(await throttle.GetLockoutAsync());

        await throttle.ResetAsync();

        Assert.Null(await throttle.GetLockoutAsync());
    }

    [Fact]
    public async Task Concurrent_attempts_are_admitted_up_to_the_limit_and_no_further()
    {
        var throttle = NewThrottle();

        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => throttle.BeginAttemptAsync()));

        Assert.Equal(Options.MaxFailures, answers.Count(a => a is null));
        Assert.All(answers.Where(a => a is not null), a => Assert.True(a > TimeSpan.Zero));
    }

    [Fact]
    public async Task Throttles_of_different_emails_are_independent()
    {
        var locked = NewThrottle();
        var other = NewThrottle();
        await FailAsync(locked, Options.MaxFailures);
        Assert.NotNull(await locked.GetLockoutAsync());

        Assert.Null(await other.GetLockoutAsync());
        Assert.Null(await other.BeginAttemptAsync());
    }

    [Fact]
    public async Task Lockout_lives_in_memory_only()
    {
        // Documented: a restart forgives. This also proves that the fixture's deactivation really drops an activation,
        // which the persistence tests of the other grains rely on.
        var throttle = NewThrottle();
        await FailAsync(throttle, Options.MaxFailures);
        Assert.NotNull(await throttle.GetLockoutAsync());

        await fixture.DeactivateAsync(throttle);

        Assert.Null(await throttle.GetLockoutAsync());
    }
}
