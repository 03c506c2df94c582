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
        RateLimitDecision last = null!;
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
}
