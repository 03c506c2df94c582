using ApiPlatform.Grains.RateLimiting;

namespace ApiPlatform.GrainTests;

public sealed class RateLimitGrainTests(ClusterFixture fixture)
{
    private static readonly RateLimitPolicy Policy = new("test", 10, 60);

    private IRateLimitGrain NewLimiter(IGrainFactory? factory = null) =>
        (factory ?? fixture.Grains).GetGrain<IRateLimitGrain>($"key:{Guid.NewGuid():N}|test");

    [Fact]
    public async Task Concurrent_requests_from_every_silo_admit_exactly_the_limit()
    {
        var key = $"key:{Guid.NewGuid():N}|test";
        var calls = Enumerable.Range(0, 100).Select(i =>
            fixture.AllFactories[i % fixture.AllFactories.Count].GetGrain<IRateLimitGrain>(key).AcquireAsync(Policy));
        var decisions = await Task.WhenAll(calls);

        Assert.Equal(10, decisions.Count(d => d.Allowed));
        Assert.Equal(Enumerable.Range(0, 10).Reverse(), decisions.Where(d => d.Allowed).Select(d => d.Remaining).OrderDescending());
        Assert.All(decisions.Where(d => !d.Allowed), d => Assert.Equal(0, d.Remaining));
    }

    [Fact]
    public async Task The_window_resets_at_its_reported_reset_time()
    {
        var limiter = NewLimiter();
        RateLimitOutcome last = null!;
        for (var i = 0; i < 10; i++)
        {
            last = await limiter.AcquireAsync(Policy);
        }

        Assert.False((await limiter.AcquireAsync(Policy)).Allowed);
        Assert.True(last.ResetAt > fixture.Time.GetUtcNow());
        Assert.True(last.ResetAt <= fixture.Time.GetUtcNow().AddSeconds(60));

        fixture.Time.Advance(last.ResetAt - fixture.Time.GetUtcNow());
        var fresh = await limiter.AcquireAsync(Policy);
        Assert.True(fresh.Allowed);
        Assert.Equal(9, fresh.Remaining);
    }

    [Fact]
    public async Task A_changed_policy_starts_counting_afresh()
    {
        var limiter = NewLimiter();
        for (var i = 0; i < 10; i++)
        {
            await limiter.AcquireAsync(Policy);
        }

        var bigger = await limiter.AcquireAsync(Policy with { Limit = 20 });
        Assert.True(bigger.Allowed);
        Assert.Equal(19, bigger.Remaining);
    }

    private static readonly RateLimitPolicy Large = new("large", 1000, 60);

    [Fact]
    public async Task Leases_from_several_silos_never_exceed_the_limit_and_shrink_to_single_tokens()
    {
        var key = $"key:{Guid.NewGuid():N}|large";
        var grants = new List<int>();
        for (var i = 0; ; i++)
        {
            var lease = await fixture.AllFactories[i % fixture.AllFactories.Count].GetGrain<IRateLimitGrain>(key).LeaseAsync(Large, $"silo{i % 3}");
            if (!lease.Allowed)
            {
                Assert.Equal(0, lease.Remaining);
                break;
            }

            grants.Add(lease.Granted);
        }

        Assert.Equal(1000, grants.Sum());
        Assert.Equal(10, grants[0]); // 1 % of the limit
        Assert.All(grants.TakeLast(20), g => Assert.Equal(1, g)); // the last tokens go one at a time
        Assert.False((await fixture.Grains.GetGrain<IRateLimitGrain>(key).AcquireAsync(Large)).Allowed);
    }

    [Fact]
    public async Task Small_budgets_lease_one_token_at_a_time()
    {
        var lease = await NewLimiter().LeaseAsync(Policy, "silo");
        Assert.Equal((true, 1, 9), (lease.Allowed, lease.Granted, lease.Remaining));
        Assert.False(RateLimitLeasing.Applies(Policy.Limit));
    }

    [Fact]
    public async Task Released_tokens_can_be_granted_again_in_the_same_window()
    {
        var limiter = NewLimiter();
        var lease = await limiter.LeaseAsync(Large, "silo-a");
        Assert.Equal(10, lease.Granted);
        Assert.Equal(990, lease.Remaining);

        await limiter.ReleaseAsync(Large, lease.ResetAt, 9);

        var next = await limiter.LeaseAsync(Large, "silo-b");
        Assert.Equal(999 - next.Granted, next.Remaining);
    }

    [Fact]
    public async Task Tokens_released_after_their_window_ended_are_ignored()
    {
        var limiter = NewLimiter();
        var lease = await limiter.LeaseAsync(Large, "silo-a");
        fixture.Time.Advance(lease.ResetAt - fixture.Time.GetUtcNow());

        var fresh = await limiter.LeaseAsync(Large, "silo-a");
        await limiter.ReleaseAsync(Large, lease.ResetAt, 9);

        var after = await limiter.AcquireAsync(Large);
        Assert.Equal(1000 - fresh.Granted - 1, after.Remaining);
    }
}
