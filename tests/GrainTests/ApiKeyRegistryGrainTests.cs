using ApiPlatform.Grains;
using ApiPlatform.Grains.ApiKeys;

namespace ApiPlatform.GrainTests;

public sealed class ApiKeyRegistryGrainTests(ClusterFixture fixture)
{
    private const int Cap = 3;

    private IApiKeyRegistryGrain NewRegistry() => fixture.Grains.GetGrain<IApiKeyRegistryGrain>(Ids.New(Ids.User));

    private static List<string> NewKeyIds(int count) => Enumerable.Range(0, count).Select(_ => Ids.New(Ids.ApiKey)).ToList();

    /// <summary>Reserves a place and creates the key grain, as the gateway does.</summary>
    private async Task<string> AddKeyAsync(IApiKeyRegistryGrain registry, DateTimeOffset? expiresAt = null)
    {
        var keyId = Ids.New(Ids.ApiKey);
        Assert.True(await registry.TryAddAsync(keyId, Cap));
        var created = await fixture.Grains.GetGrain<IApiKeyGrain>(keyId)
            .CreateAsync(new NewApiKey(registry.GetPrimaryKeyString(), "usr_creator", "key", "free", ApiKeyScopes.All, expiresAt));
        Assert.NotNull(created);
        return keyId;
    }

    [Fact]
    public async Task Keys_are_added_up_to_the_cap()
    {
        var registry = NewRegistry();
        for (var i = 0; i < Cap; i++)
        {
            await AddKeyAsync(registry);
        }

        var refused = Ids.New(Ids.ApiKey);
        Assert.False(await registry.TryAddAsync(refused, Cap));
        Assert.DoesNotContain(refused, await registry.ListAsync());
        Assert.Equal(Cap, (await registry.ListAsync()).Count);
    }

    [Fact]
    public async Task Adding_a_listed_key_again_succeeds_without_a_second_entry()
    {
        var registry = NewRegistry();
        var keyId = await AddKeyAsync(registry);

        Assert.True(await registry.TryAddAsync(keyId, Cap));

        Assert.Equal([keyId], await registry.ListAsync());
    }

    [Fact]
    public async Task Marking_a_key_inactive_frees_a_place()
    {
        var registry = NewRegistry();
        var keys = new List<string>();
        for (var i = 0; i < Cap; i++)
        {
            keys.Add(await AddKeyAsync(registry));
        }

        // As the gateway revokes: the key first, then the registry.
        await fixture.Grains.GetGrain<IApiKeyGrain>(keys[1]).RevokeAsync();
        await registry.MarkInactiveAsync(keys[1]);

        var next = Ids.New(Ids.ApiKey);
        Assert.True(await registry.TryAddAsync(next, Cap));
        // Inactive keys are still listed.
        Assert.Equal(Cap + 1, (await registry.ListAsync()).Count);
        Assert.Contains(keys[1], await registry.ListAsync());
    }

    [Fact]
    public async Task At_the_cap_a_revoked_key_still_flagged_active_frees_its_place()
    {
        var registry = NewRegistry();
        var keys = new List<string>();
        for (var i = 0; i < Cap; i++)
        {
            keys.Add(await AddKeyAsync(registry));
        }

        // The revoke reached the key but never the registry.
        await fixture.Grains.GetGrain<IApiKeyGrain>(keys[0]).RevokeAsync();

        await AddKeyAsync(registry);
        // Only that one place was freed: the keys that really are active still count.
        Assert.False(await registry.TryAddAsync(Ids.New(Ids.ApiKey), Cap));
    }

    [Fact]
    public async Task At_the_cap_an_expired_key_still_flagged_active_frees_its_place()
    {
        var registry = NewRegistry();
        var expiring = await AddKeyAsync(registry, fixture.Time.GetUtcNow().AddHours(1));
        for (var i = 1; i < Cap; i++)
        {
            await AddKeyAsync(registry);
        }

        Assert.False(await registry.TryAddAsync(Ids.New(Ids.ApiKey), Cap));

        fixture.Time.Advance(TimeSpan.FromHours(1));

        await AddKeyAsync(registry);
        Assert.Contains(expiring, await registry.ListAsync());
        Assert.False(await registry.TryAddAsync(Ids.New(Ids.ApiKey), Cap));
    }

    [Fact]
    public async Task Cap_holds_while_a_reserved_key_is_still_being_created()
    {
        // The gateway reserves a place (TryAddAsync) and only then creates the key grain. A second creation that
        // arrives in between must not count the first key's reserved place as free, or the owner ends up with more
        // active keys than the plan allows.
        var registry = NewRegistry();
        for (var i = 1; i < Cap; i++)
        {
            await AddKeyAsync(registry);
        }

        var pending = Ids.New(Ids.ApiKey);
        Assert.True(await registry.TryAddAsync(pending, Cap));

        Assert.False(await registry.TryAddAsync(Ids.New(Ids.ApiKey), Cap));
    }

    [Fact]
    public async Task List_is_newest_first()
    {
        var registry = NewRegistry();
        var keys = NewKeyIds(3);
        foreach (var key in keys)
        {
            Assert.True(await registry.TryAddAsync(key, 10));
        }

        Assert.Equal(Enumerable.Reverse(keys), await registry.ListAsync());
    }

    [Fact]
    public async Task Empty_registry_lists_nothing()
    {
        Assert.Empty(await NewRegistry().ListAsync());
    }

    [Fact]
    public async Task Remove_forgets_the_key_and_frees_its_place()
    {
        var registry = NewRegistry();
        var keys = NewKeyIds(Cap);
        foreach (var key in keys)
        {
            Assert.True(await registry.TryAddAsync(key, Cap));
        }

        await registry.RemoveAsync(keys[1]);
        await registry.RemoveAsync(Ids.New(Ids.ApiKey));

        Assert.Equal([keys[2], keys[0]], await registry.ListAsync());
        var next = Ids.New(Ids.ApiKey);
        Assert.True(await registry.TryAddAsync(next, Cap));
        Assert.Equal([next, keys[2], keys[0]], await registry.ListAsync());
    }

    [Fact]
    public async Task Registry_survives_deactivation()
    {
        var registry = NewRegistry();
        var keys = NewKeyIds(2);
        foreach (var key in keys)
        {
            Assert.True(await registry.TryAddAsync(key, 10));
        }

        await registry.MarkInactiveAsync(keys[0]);
        await fixture.DeactivateAsync(registry);

        Assert.Equal([keys[1], keys[0]], await registry.ListAsync());
        // keys[0] no longer counts: one active key, so a cap of 2 still has room.
        Assert.True(await registry.TryAddAsync(Ids.New(Ids.ApiKey), 2));
    }
}
