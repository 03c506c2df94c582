using ApiPlatform.Gateway.Auth;
using ApiPlatform.Grains;
using ApiPlatform.Grains.ApiKeys;
using Microsoft.Extensions.Time.Testing;

namespace ApiPlatform.UnitTests;

public sealed class ApiKeyCacheTests
{
    private const string KeyId = "key_0123456789abcdefghijkl";
    private const string Presented = "sk_0123456789abcdefghijkl_secret-one";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2031, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ApiKeyCache _cache;

    // The grain factory is only needed for the cache's own reference, which these tests never ask for.
    public ApiKeyCacheTests() => _cache = new ApiKeyCache(null!, new LocalHolders(), new ApiClock(_time));

    private static ApiKeyCheckOutcome Check(DateTimeOffset? expiresAt = null) =>
        new(ApiKeyCheckStatus.Valid, "usr_owner", "pro", [ApiKeyScopes.Read], expiresAt, "usr_owner");

    private bool Has(string presented = Presented) => _cache.TryGet(KeyId, presented, out _);

    [Fact]
    public void Keeps_a_verified_answer_for_the_same_presented_key_only()
    {
        var check = Check();
        Assert.False(Has());

        _cache.Add(KeyId, Presented, check, _cache.Stamp);

        Assert.True(_cache.TryGet(KeyId, Presented, out var kept));
        Assert.Same(check, kept);
        Assert.False(Has("sk_0123456789abcdefghijkl_secret-two"));
        Assert.False(_cache.TryGet("key_other0123456789abcdef", Presented, out _));
    }

    [Fact]
    public async Task Forgets_a_key_when_told()
    {
        _cache.Add(KeyId, Presented, Check(), _cache.Stamp);

        await _cache.ForgetAsync(KeyId);

        Assert.False(Has());
    }

    [Fact]
    public async Task Does_not_keep_an_answer_that_a_forget_overtook()
    {
        var stamp = _cache.Stamp;
        await _cache.ForgetAsync(KeyId); // the revoke's notice arrives while the older "valid" answer is on its way

        _cache.Add(KeyId, Presented, Check(), stamp);

        Assert.False(Has());
        _cache.Add(KeyId, Presented, Check(), _cache.Stamp);
        Assert.True(Has());
    }

    [Fact]
    public void Stops_at_the_key_expiry_to_the_tick()
    {
        var expiresAt = _time.GetUtcNow().AddSeconds(10);
        _cache.Add(KeyId, Presented, Check(expiresAt), _cache.Stamp);

        _time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        Assert.True(Has());
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.False(Has());
    }

    [Fact]
    public void Asks_the_grain_again_after_the_age_limit()
    {
        _cache.Add(KeyId, Presented, Check(), _cache.Stamp);

        _time.Advance(ApiKeyCache.MaxAge - TimeSpan.FromTicks(1));
        Assert.True(Has());
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.False(Has());
    }
}
