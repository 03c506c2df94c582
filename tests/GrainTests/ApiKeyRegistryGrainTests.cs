using ApiPlatform.Grains;
using ApiPlatform.Grains.ApiKeys;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace ApiPlatform.GrainTests;

public sealed class ApiKeyRegistryGrainTests(ClusterFixture fixture)
{
    private const int Cap = 3;

    private IApiKeyRegistryGrain NewRegistry() => fixture.Grains.GetGrain<IApiKeyRegistryGrain>(Ids.New(Ids.User));

    private static NewApiKey Request(IApiKeyRegistryGrain registry, DateTimeOffset? expiresAt = null, string? createdByKey = null) =>
        new(registry.GetPrimaryKeyString(), "usr_creator", "key", null, ApiKeyScopes.Default, expiresAt, createdByKey);

    private static async Task<string> AddKeyAsync(IApiKeyRegistryGrain registry, DateTimeOffset? expiresAt = null, string? createdByKey = null)
    {
        var keyId = Ids.New(Ids.ApiKey);
        var outcome = await registry.CreateAsync(keyId, Request(registry, expiresAt, createdByKey), Cap);
        Assert.Equal(ApiKeyCreateStatus.Created, outcome.Status);
        Assert.Equal(keyId, outcome.Key!.Key.Id);
        return keyId;
    }

    private static async Task<List<string>> ListIdsAsync(IApiKeyRegistryGrain registry) =>
        (await registry.ListAsync(0, 100)).Items.Select(k => k.Id).ToList();

    private async Task<ApiKeyRegistryState> StoredStateAsync(IApiKeyRegistryGrain registry)
    {
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Main);
        var state = new GrainState<ApiKeyRegistryState>(new ApiKeyRegistryState());
        await storage.ReadStateAsync("apikeys", registry.GetGrainId(), state);
        return state.State!;
    }

    [Fact]
    public async Task Keys_are_created_up_to_the_cap()
    {
        var registry = NewRegistry();
        for (var i = 0; i < Cap; i++)
        {
            await AddKeyAsync(registry);
        }

        var refused = Ids.New(Ids.ApiKey);
        Assert.Equal(ApiKeyCreateStatus.PlanLimitReached, (await registry.CreateAsync(refused, Request(registry), Cap)).Status);
        Assert.Null(await fixture.Grains.GetGrain<IApiKeyGrain>(refused).GetAsync());
        Assert.Equal(Cap, (await registry.ListAsync(0, 100)).Total);
        Assert.Equal(Cap, await registry.CountActiveAsync());
    }

    [Fact]
    public async Task Concurrent_creates_cannot_pass_the_cap()
    {
        var registry = NewRegistry();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ =>
            registry.CreateAsync(Ids.New(Ids.ApiKey), Request(registry), Cap)));

        Assert.Equal(Cap, outcomes.Count(o => o.Status == ApiKeyCreateStatus.Created));
        Assert.Equal(Cap, await registry.CountActiveAsync());
    }

    [Fact]
    public async Task Creating_an_id_that_holds_the_owners_key_answers_it_with_a_new_secret()
    {
        var registry = NewRegistry();
        var keyId = Ids.New(Ids.ApiKey);
        var first = await registry.CreateAsync(keyId, Request(registry), Cap);

        var again = await registry.CreateAsync(keyId, Request(registry), Cap);

        Assert.Equal(ApiKeyCreateStatus.Created, again.Status);
        Assert.Equal(keyId, again.Key!.Key.Id);
        Assert.NotEqual(first.Key!.Secret, again.Key.Secret);
        Assert.Equal(ApiKeyCheckStatus.Unknown, (await fixture.Grains.GetGrain<IApiKeyGrain>(keyId).VerifyAsync(first.Key.Secret, null)).Status);
        Assert.Equal(1, await registry.CountActiveAsync());
    }

    [Fact]
    public async Task Revoking_frees_a_place_and_the_key_stays_listed()
    {
        var registry = NewRegistry();
        var keys = new List<string>();
        for (var i = 0; i < Cap; i++)
        {
            keys.Add(await AddKeyAsync(registry));
        }

        var revoked = await registry.RevokeAsync(keys[1]);
        Assert.Equal(ApiKeyStatus.Revoked, revoked!.Status);

        var next = await AddKeyAsync(registry);
        Assert.Equal([next, keys[2], keys[1], keys[0]], await ListIdsAsync(registry));
        Assert.Equal(ApiKeyStatus.Revoked, (await registry.ListAsync(0, 100)).Items.Single(k => k.Id == keys[1]).Status);
    }

    [Fact]
    public async Task Revoking_another_owners_key_does_nothing()
    {
        var mine = NewRegistry();
        var theirs = NewRegistry();
        var key = await AddKeyAsync(theirs);

        Assert.Null(await mine.RevokeAsync(key));
        Assert.Null(await mine.RevokeAsync(Ids.New(Ids.ApiKey)));
        Assert.Equal(ApiKeyStatus.Active, (await fixture.Grains.GetGrain<IApiKeyGrain>(key).GetAsync())!.Status);
    }

    [Fact]
    public async Task Revoking_a_key_revokes_the_keys_it_made_and_theirs()
    {
        var registry = NewRegistry();
        var parent = await AddKeyAsync(registry);
        var child = await AddKeyAsync(registry, createdByKey: parent);
        var grandchild = await AddKeyAsync(registry, createdByKey: child);

        await registry.RevokeAsync(parent);

        foreach (var id in new[] { parent, child, grandchild })
        {
            Assert.Equal(ApiKeyStatus.Revoked, (await fixture.Grains.GetGrain<IApiKeyGrain>(id).GetAsync())!.Status);
        }

        Assert.Equal(0, await registry.CountActiveAsync());
    }

    [Fact]
    public async Task An_expired_key_frees_its_place()
    {
        var registry = NewRegistry();
        var expiring = await AddKeyAsync(registry, fixture.Time.GetUtcNow().AddHours(1));
        for (var i = 1; i < Cap; i++)
        {
            await AddKeyAsync(registry);
        }

        Assert.Equal(ApiKeyCreateStatus.PlanLimitReached, (await registry.CreateAsync(Ids.New(Ids.ApiKey), Request(registry), Cap)).Status);

        fixture.Time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(Cap - 1, await registry.CountActiveAsync());
        await AddKeyAsync(registry);
        Assert.Contains(expiring, await ListIdsAsync(registry));
        Assert.Equal(ApiKeyStatus.Expired, (await registry.ListAsync(0, 100)).Items.Single(k => k.Id == expiring).Status);
    }

    [Fact]
    public async Task List_is_paged_newest_first_with_the_exact_total()
    {
        var registry = NewRegistry();
        var keys = new List<string>();
        for (var i = 0; i < Cap; i++)
        {
            keys.Add(await AddKeyAsync(registry));
            fixture.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var page = await registry.ListAsync(1, 1);
        Assert.Equal(Cap, page.Total);
        Assert.Equal(keys[1], Assert.Single(page.Items).Id);
        Assert.Empty((await NewRegistry().ListAsync(0, 10)).Items);
    }

    [Fact]
    public async Task Its_state_holds_the_active_keys_only_however_many_were_revoked()
    {
        var registry = NewRegistry();
        for (var i = 0; i < 20; i++)
        {
            await registry.RevokeAsync(await AddKeyAsync(registry));
        }

        var active = await AddKeyAsync(registry);

        var stored = await StoredStateAsync(registry);
        Assert.Equal([active], stored.Keys.Select(k => k.Id));
        Assert.Equal(21, (await registry.ListAsync(0, 100)).Total);
    }

    [Fact]
    public async Task State_of_the_version_that_kept_every_key_shrinks_and_nothing_disappears_from_the_list()
    {
        var ownerId = Ids.New(Ids.User);
        var registry = fixture.Grains.GetGrain<IApiKeyRegistryGrain>(ownerId);
        var keys = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var id = Ids.New(Ids.ApiKey);
            await fixture.Grains.GetGrain<IApiKeyGrain>(id).CreateAsync(new NewApiKey(ownerId, "usr_creator", "old", "free", ApiKeyScopes.Default, null));
            keys.Add(id);
        }

        await fixture.Grains.GetGrain<IApiKeyGrain>(keys[0]).RevokeAsync();
        await fixture.Grains.GetGrain<IApiKeyGrain>(keys[1]).RevokeAsync();
        await fixture.ExecuteSqlAsync($"DELETE FROM api_keys WHERE owner_id = '{ownerId}'");
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GrainStorage.Main);
        var old = new GrainState<ApiKeyRegistryState>(new ApiKeyRegistryState
        {
            Keys = keys.Select((id, i) => new ApiKeyEntry { Id = id, Inactive = i == 0, AddedAt = fixture.Time.GetUtcNow() }).ToList(),
        });
        await storage.WriteStateAsync("apikeys", registry.GetGrainId(), old);

        Assert.Equal(keys.AsEnumerable().Reverse().ToHashSet(), (await ListIdsAsync(registry)).ToHashSet());
        Assert.Equal(2, await registry.CountActiveAsync());
        var stored = await StoredStateAsync(registry);
        Assert.Equal(1, stored.Version);
        Assert.Equal([keys[2], keys[3]], stored.Keys.Select(k => k.Id));
    }

    [Fact]
    public async Task Registry_survives_deactivation()
    {
        var registry = NewRegistry();
        var first = await AddKeyAsync(registry);
        var second = await AddKeyAsync(registry);
        await registry.RevokeAsync(first);

        await fixture.DeactivateAsync(registry);

        Assert.Equal([second, first], await ListIdsAsync(registry));
        Assert.Equal(1, await registry.CountActiveAsync());
    }

    [Fact]
    public async Task Concurrent_creates_entering_through_every_silo_stop_exactly_at_the_cap()
    {
        var owner = Ids.New(Ids.User);
        var outcomes = await Task.WhenAll(fixture.AllFactories.SelectMany(factory => Enumerable.Range(0, 6).Select(_ =>
        {
            var registry = factory.GetGrain<IApiKeyRegistryGrain>(owner);
            return registry.CreateAsync(Ids.New(Ids.ApiKey), Request(registry), Cap);
        })));

        Assert.Equal(Cap, outcomes.Count(o => o.Status == ApiKeyCreateStatus.Created));
        Assert.All(outcomes.Where(o => o.Status != ApiKeyCreateStatus.Created), o => Assert.Equal(ApiKeyCreateStatus.PlanLimitReached, o.Status));
        Assert.Equal(Cap, await fixture.Grains.GetGrain<IApiKeyRegistryGrain>(owner).CountActiveAsync());
    }

    [Fact]
    public async Task Closing_revokes_every_key_and_refuses_new_ones_until_reopened()
    {
        var registry = NewRegistry();
        var key = await AddKeyAsync(registry);

        await registry.CloseAsync();
        await registry.CloseAsync();
        await fixture.DeactivateAsync(registry);

        Assert.Equal(ApiKeyStatus.Revoked, (await fixture.Grains.GetGrain<IApiKeyGrain>(key).GetAsync())!.Status);
        Assert.Equal(ApiKeyCreateStatus.OwnerDeleted, (await registry.CreateAsync(Ids.New(Ids.ApiKey), Request(registry), Cap)).Status);
        Assert.Equal(0, await registry.CountActiveAsync());

        await registry.ReopenAsync();
        await AddKeyAsync(registry);
    }
}
